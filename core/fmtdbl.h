/* fmtdbl.h: printf's "%.<P>g" of a double without printf, for the JSON
 * encoders (baton.canon's floats with 17 digits, baton.ssot's shortest of
 * 15 or 17). The same bytes as glibc's snprintf (exact decimal rounding,
 * ties to even); values outside the exact fast range go to snprintf. */
#ifndef BATON_FMTDBL_H
#define BATON_FMTDBL_H
#include <stddef.h>

/* snprintf(out, 32, "%.<prec>g", d) for prec 1..17; returns the length. */
size_t bt_fmt_g(double d, int prec, char *out);

/* The fast path alone: bt_fmt_g's text, or 0 when it leaves d to snprintf
 * (exponent notation, |d| < 2^-19, integral |d| >= 2^52); for tests. */
size_t bt_fmt_g_fast(double d, int prec, char *out);

/* "%.15g" of d when it reads back as d (strtod), else "%.17g"; out has
 * room for 32 bytes; returns the length. */
size_t bt_fmt_shortest(double d, char *out);

#endif
