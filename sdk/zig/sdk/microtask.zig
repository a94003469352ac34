//! microtask.zig - module `portal_microtask`, the task dispatcher, and the exports every app needs
//! (docs/abi.md#the-app-contract): portalContractVersion, portalMicroTaskStep, portalAlloc, portalFree, plus
//! `_start` and `ppShutdown`.
//!
//! Build model: apps are built with `zig build-lib -dynamic -rdynamic -target wasm32-wasi`.
//! A wasm32-wasi *exe* gets std's command-model `_start`, which calls proc_exit after main and so
//! ends the app before any microtask runs; a dynamic lib gets no start code, and this file exports
//! `_start`, which runs the root file's `pub fn main` once and returns, leaving the instance alive.
//! The root may also declare `pub fn onShutdown() void`, called by the ppShutdown export.
const std = @import("std");
const builtin = @import("builtin");
const root = @import("root");
const ffi = @import("ffi.zig");
const err = @import("error.zig");

/// What a step asks for next; the host decodes kind (high 32 bits) and argument (low 32 bits).
pub const Action = struct {
    raw: i64,

    /// The task is finished; the host releases it.
    pub fn done() Action {
        return .{ .raw = 0 };
    }
    /// Run again at the next period boundary (periodic tasks) or in 50 ms.
    pub fn yieldNow() Action {
        return .{ .raw = @as(i64, 1) << 32 };
    }
    /// Run again in `ms` milliseconds (0 = 50 ms).
    pub fn sleepMs(ms: u32) Action {
        return .{ .raw = (@as(i64, 2) << 32) | @as(i64, ms) };
    }
    pub fn kind(self: Action) u32 {
        return @truncate(@as(u64, @bitCast(self.raw)) >> 32);
    }
};

/// fn(ctx, handle, now_ms) runs on each step of its task.
pub const TaskFn = *const fn (ctx: ?*anyopaque, handle: i32, now_ms: i32) Action;

pub const max_tasks = 64;

const Task = struct {
    handle: i32 = 0, // 0 = free slot
    func: ?TaskFn = null,
    ctx: ?*anyopaque = null,
};

var tasks = [_]Task{.{}} ** max_tasks;

fn findTask(handle: i32) ?*Task {
    if (handle <= 0) return null;
    for (&tasks) |*t| {
        if (t.handle == handle) return t;
    }
    return null;
}

/// Starts a task: first step after start_after_ms, then per its actions (period_ms > 0 makes
/// yieldNow follow a fixed period). Returns the task handle.
pub fn start(start_after_ms: i32, period_ms: i32, func: TaskFn, ctx: ?*anyopaque) err.Error!i32 {
    var slot: ?*Task = null;
    for (&tasks) |*t| {
        if (t.handle == 0) {
            slot = t;
            break;
        }
    }
    const free = slot orelse return error.Internal; // all slots busy (the host has 64 as well)
    const h = try err.check(ffi.microtaskStart(start_after_ms, period_ms, 0));
    free.* = .{ .handle = h, .func = func, .ctx = ctx };
    return h;
}

/// Cancels a task (also allowed from inside its own step).
pub fn cancel(handle: i32) err.Error!void {
    if (findTask(handle)) |t| t.* = .{};
    return err.checkVoid(ffi.microtaskCancel(handle));
}

/// Cancels every task.
pub fn clearAll() void {
    for (&tasks) |*t| t.* = .{};
    _ = ffi.microtaskClearAll();
}

// ---- exports ----

/// The allocator behind portalAlloc/portalFree (and available to apps).
pub const allocator = std.heap.wasm_allocator;
const alloc_log2_align: u8 = 3; // 8-byte aligned blocks, as the host may place structs there

export fn portalContractVersion() i32 {
    return 1;
}

export fn portalAlloc(len: i32) i32 {
    if (len <= 0) return 0;
    const p = allocator.rawAlloc(@intCast(len), alloc_log2_align, @returnAddress()) orelse return 0;
    return @intCast(@intFromPtr(p));
}

export fn portalFree(ptr: i32, len: i32) void {
    if (ptr == 0 or len <= 0) return;
    const p: [*]u8 = @ptrFromInt(@as(usize, @intCast(ptr)));
    allocator.rawFree(p[0..@as(usize, @intCast(len))], alloc_log2_align, @returnAddress());
}

export fn portalMicroTaskStep(handle: i32, now_ms: i32) i64 {
    const t = findTask(handle) orelse return Action.done().raw; // not ours: let the host drop it
    const func = t.func orelse return Action.done().raw;
    const action = func(t.ctx, handle, now_ms);
    if (action.kind() == 0) {
        if (findTask(handle)) |again| again.* = .{}; // the step may have cancelled itself
    }
    return action.raw;
}

export fn ppShutdown() void {
    if (@hasDecl(root, "onShutdown")) root.onShutdown();
}

var started = false;

fn startApp() callconv(.C) void {
    if (started) @trap(); // the host runs _start once
    started = true;
    if (!@hasDecl(root, "main")) return;
    const Ret = @typeInfo(@TypeOf(root.main)).Fn.return_type.?;
    switch (@typeInfo(Ret)) {
        .Void => root.main(),
        .Int => exitOnCode(root.main()),
        .ErrorUnion => |eu| {
            if (root.main()) |value| {
                if (eu.payload != void) exitOnCode(value);
            } else |e| {
                var line: [128]u8 = undefined;
                const msg = std.fmt.bufPrintZ(&line, "main failed: {s}", .{@errorName(e)}) catch "main failed";
                ffi.logError(msg.ptr);
                std.os.wasi.proc_exit(1);
            }
        },
        else => @compileError("main must return void, u8, !void or !u8"),
    }
}

fn exitOnCode(code: anytype) void {
    if (code != 0) std.os.wasi.proc_exit(@intCast(code));
}

comptime {
    // In an exe, std's start code owns `_start` (see the file comment): export ours only in libs.
    if (builtin.output_mode == .Lib) @export(startApp, .{ .name = "_start" });
}
