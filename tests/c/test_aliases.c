/* test_aliases.c: the word -> name set behind request keys (core/aliases.c):
 * lookups, first name kept, a full set refusing more, and the renamed hash
 * equal to the plain hash of the text renamed by hand. */
#include <string.h>

#include "aliases.h"
#include "check.h"

static uint64_t h(const char *s) {
    return bt_fnv(BT_FNV_OFFSET, s, strlen(s));
}

int main(void) {
    CHECK(h("") == 0xcbf29ce484222325ULL);
    CHECK(h("a") == 0xaf63dc4c8601ec8cULL); /* the published FNV-1a 64 vector */
    bt_aliases *a = bt_aliases_new(3);
    CHECK(a != NULL);
    size_t rn = 0;
    CHECK(bt_aliases_add(a, "r0abc", 5, "T1", 2) == 0);
    CHECK(bt_aliases_add(a, "run7", 4, "RUN", 3) == 0);
    CHECK(bt_aliases_add(a, "r0abc", 5, "T9", 2) == 0); /* already there: the first stays */
    CHECK(bt_aliases_add(a, "x", 1, "", 0) == 0);
    CHECK(bt_aliases_add(a, "y", 1, "Y", 1) == -1); /* room for 3 */
    const char *r = bt_aliases_find(a, "r0abc", 5, &rn);
    CHECK(r && rn == 2 && memcmp(r, "T1", 2) == 0);
    CHECK(bt_aliases_find(a, "r0ab", 4, &rn) == NULL);
    CHECK(bt_aliases_find(a, "y", 1, &rn) == NULL);
    const char *text = "{\"a\":\"r0abc run7 xr0abc r0abc,x\\nr0abc\"}";
    const char *want = "{\"a\":\"T1 RUN xr0abc T1,\\nr0abc\"}";
    CHECK(bt_fnv_aliased(a, BT_FNV_OFFSET, text, strlen(text)) == h(want));
    bt_aliases_free(a);
    bt_aliases *none = bt_aliases_new(0);
    CHECK(bt_fnv_aliased(none, BT_FNV_OFFSET, text, strlen(text)) == h(text));
    bt_aliases_free(none);
    CHECK_DONE();
}
