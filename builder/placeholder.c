/* placeholder so the library has a translation unit until the module lands */
int cb_builder_placeholder(void);
int cb_builder_placeholder(void) { return 0; }
