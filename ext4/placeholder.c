/* placeholder so the library has a translation unit until the module lands */
int cb_ext4_placeholder(void);
int cb_ext4_placeholder(void) { return 0; }
