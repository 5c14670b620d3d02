/* JWTD_VERSION is generated from the CMake project version (include/jwtd/version.h.in), never
 * written by hand: the header's string and numbers are the project's. */
#include "testutil.h"

static void test_version_is_the_project_version(void **state)
{
    char numbers[32];

    (void)state;
    assert_string_equal(JWTD_VERSION, JWTD_PROJECT_VERSION);
    snprintf(numbers, sizeof numbers, "%d.%d.%d", JWTD_VERSION_MAJOR, JWTD_VERSION_MINOR,
             JWTD_VERSION_PATCH);
    assert_string_equal(numbers, JWTD_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_is_the_project_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
