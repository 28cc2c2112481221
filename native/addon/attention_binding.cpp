// Placeholder: the Attention bindings land with their issue.
#include <napi.h>
namespace hg {
namespace addon {
void InitAttention(Napi::Env env, Napi::Object exports) {}
}  // namespace addon
}  // namespace hg
