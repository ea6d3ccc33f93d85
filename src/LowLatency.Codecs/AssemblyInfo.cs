using System.Runtime.CompilerServices;

// No stackalloc in this assembly relies on zero-initialised memory; field bags track presence in a bit mask and never
// read a slot whose bit is clear.
[module: SkipLocalsInit]
