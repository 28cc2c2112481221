{
  "targets": [
    {
      "target_name": "headgrad",
      "sources": ["<!@(node scripts/list-sources.mjs)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread"] }],
        ["target_arch=='x64'", { "cflags_cc": ["-march=native"] }]
      ]
    }
  ]
}
