#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/json.h"

TEST(writes_nested_document_with_escapes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "s", "a\"b\\c\n\x01");
    json_int(&j, "i", -3);
    json_arr_begin(&j, "a");
    json_uint(&j, NULL, 1);
    json_bool(&j, NULL, true);
    json_null(&j, NULL);
    json_arr_end(&j);
    json_obj_begin(&j, "o");
    json_obj_end(&j);
    json_double(&j, "d", 0.5);
    json_obj_end(&j);
    fclose(f);
    CHECK_EQ_STR(buf, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"i\":-3,\"a\":[1,true,null],\"o\":{},\"d\":0.5}");
    free(buf);
}
