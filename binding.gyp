{
  "targets": [
    {
      "target_name": "pyocyte",
      "sources": [
        "native/addon.cc", "native/bindings.cc", "native/runtime.cc", "native/tensors.cc",
        "native/conv.cc", "native/upconv.cc", "native/pool.cc", "native/norm.cc", "native/eltwise.cc",
        "native/concat.cc", "native/loss.cc", "native/optim.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["-ldnnl", "-fopenmp"],
      "conditions": [
        ["OS=='linux'", { "ldflags": ["-Wl,--as-needed"] }]
      ]
    }
  ]
}
