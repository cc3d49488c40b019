/* placeholder so the library has a translation unit until the module lands */
int cb_guest_placeholder(void);
int cb_guest_placeholder(void) { return 0; }
