// The header must compile, link and run as C++ (cpp_compat: extern "C" linkage, 32-bit
// result type). Built by bindings/c/tests/c_api.rs with c++ -std=c++17 -Wall -Werror.
#include "tollbooth.h"

#include <cstdint>
#include <cstdio>
#include <type_traits>

static_assert(sizeof(tb_result) == sizeof(std::uint32_t), "tb_result is 32-bit");
static_assert(std::is_standard_layout<tb_str>::value, "tb_str is a plain C struct");
static_assert(TB_RESULT_SIGNATURE_MISMATCH == 102, "codes are tollbooth's numbers");

int main() {
  tb_str v = tb_version();
  tb_config *config = nullptr;
  const char path[] = ":memory:";
  if (tb_config_new(reinterpret_cast<const std::uint8_t *>(path), sizeof path - 1, &config) !=
      TB_RESULT_OK) {
    return 1;
  }
  tb_config_free(config);
  std::printf("c++: ok (tollbooth %s)\n", reinterpret_cast<const char *>(v.ptr));
  return v.len > 0 ? 0 : 1;
}
