# Fault scenarios against a real stack (short form in make check, long form: ./shop chaos).
