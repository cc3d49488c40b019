/* placeholder so the library has a translation unit until the module lands */
int cb_oci_placeholder(void);
int cb_oci_placeholder(void) { return 0; }
