# libFuzzer targets (configure --enable-fuzzing): see tests/fuzz/README or below.
