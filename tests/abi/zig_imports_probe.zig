//! zig_imports_probe.zig - a wasm module that references every extern function of the Zig SDK's
//! ffi.zig, so that each one becomes an import; test_abi_drift.sh reads the imports and their
//! WebAssembly types (as the Zig compiler made them) with wasm-objdump and compares them with
//! host/api. Built by that test: zig build-lib -dynamic -rdynamic --mod sdk::sdk/zig/sdk.zig.
const ffi = @import("sdk").ffi;

/// The address of the i-th declaration of ffi.zig when it is a C-calling-convention function
/// (every `extern "module" fn`), else 0. Exported so that nothing is optimised away.
export fn abi_probe_import(i: u32) usize {
    inline for (@typeInfo(ffi).Struct.decls, 0..) |d, k| {
        const info = @typeInfo(@TypeOf(@field(ffi, d.name)));
        if (info == .Fn and info.Fn.calling_convention == .C and i == k)
            return @intFromPtr(&@field(ffi, d.name));
    }
    return 0;
}
