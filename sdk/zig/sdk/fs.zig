//! fs.zig - module `portal_fs`: files on the SD card, mounted at /sdcard (on portal-host the
//! directory given by --sd). Paths start with '/', have no ".." segment and are shorter than 256
//! bytes; an app has at most 16 open files and 8 open directories. Semantics and every error text:
//! docs/spec-fs.md. Paths are NUL-terminated slices (string literals are; build others with
//! std.fmt.bufPrintZ). Feature bit: `Feature.fs`.
const std = @import("std");
const ffi = @import("ffi.zig");
const errors = @import("error.zig");

pub const Error = errors.Error;

/// fsOpen flags (upstream's numbers): one access mode, plus any of the others.
pub const OpenFlags = struct {
    pub const read: i32 = 0o1;
    pub const write: i32 = 0o2;
    pub const read_write: i32 = 0o3;
    pub const create: i32 = 0o100;
    pub const truncate: i32 = 0o200;
    pub const append: i32 = 0o400;
};

pub const Whence = enum(i32) { set = 0, current = 1, end = 2 };

/// The card's mount point.
pub const root = "/sdcard";

pub fn isMounted() bool {
    return ffi.fsIsMounted() == 1;
}

pub fn mount() Error!void {
    return errors.checkVoid(ffi.fsMount());
}

pub fn unmount() Error!void {
    return errors.checkVoid(ffi.fsUnmount());
}

fn count(rc: i32) Error!usize {
    return @intCast(try errors.check(rc));
}

/// An open file; `close` it (teardown closes what an app leaves open).
pub const File = struct {
    handle: i32,

    pub fn open(path: [:0]const u8, flags: i32) Error!File {
        return .{ .handle = try errors.check(ffi.fsOpen(path.ptr, flags)) };
    }

    /// Safe to call twice.
    pub fn close(self: *File) void {
        if (self.handle > 0) _ = ffi.fsClose(self.handle);
        self.handle = 0;
    }

    /// Bytes read into `buf`; 0 at the end of the file.
    pub fn read(self: File, buf: []u8) Error!usize {
        return count(ffi.fsRead(self.handle, ffi.outPtr(buf), @intCast(buf.len)));
    }

    pub fn write(self: File, bytes: []const u8) Error!usize {
        return count(ffi.fsWrite(self.handle, ffi.inPtr(bytes), @intCast(bytes.len)));
    }

    pub fn writeAll(self: File, bytes: []const u8) Error!void {
        var done: usize = 0;
        while (done < bytes.len) done += try self.write(bytes[done..]);
    }

    /// Moves the position; returns the new one.
    pub fn seek(self: File, offset: i32, whence: Whence) Error!usize {
        return count(ffi.fsSeek(self.handle, offset, @intFromEnum(whence)));
    }
};

pub const Stat = struct {
    size: u64,
    is_dir: bool,
    mtime: i64, // seconds since 1970
};

fn le64(bytes: []const u8) u64 {
    var v: u64 = 0;
    var i: usize = 8;
    while (i > 0) {
        i -= 1;
        v = (v << 8) | bytes[i];
    }
    return v;
}

pub fn stat(path: [:0]const u8) Error!Stat {
    var rec: [24]u8 = undefined;
    _ = try errors.check(ffi.fsStat(path.ptr, &rec, rec.len));
    return .{ .size = le64(rec[0..8]), .is_dir = rec[8] != 0, .mtime = @bitCast(le64(rec[16..24])) };
}

pub fn remove(path: [:0]const u8) Error!void {
    return errors.checkVoid(ffi.fsRemove(path.ptr));
}

pub fn rename(from: [:0]const u8, to: [:0]const u8) Error!void {
    return errors.checkVoid(ffi.fsRename(from.ptr, to.ptr));
}

/// Succeeds also when the path exists already.
pub fn mkdir(path: [:0]const u8) Error!void {
    return errors.checkVoid(ffi.fsMkdir(path.ptr));
}

pub fn rmdir(path: [:0]const u8) Error!void {
    return errors.checkVoid(ffi.fsRmdir(path.ptr));
}

/// An open directory; `close` it.
pub const Dir = struct {
    handle: i32,

    pub fn open(path: [:0]const u8) Error!Dir {
        return .{ .handle = try errors.check(ffi.fsOpendir(path.ptr)) };
    }

    /// The next entry's name in `buf` (cut to buf.len - 1 bytes), null at the end.
    pub fn next(self: Dir, buf: []u8) Error!?[]const u8 {
        if (buf.len == 0) return error.InvalidArgument;
        const n = try count(ffi.fsReaddir(self.handle, buf.ptr, @intCast(buf.len)));
        if (n == 0) return null;
        return buf[0..n];
    }

    /// Safe to call twice.
    pub fn close(self: *Dir) void {
        if (self.handle > 0) _ = ffi.fsClosedir(self.handle);
        self.handle = 0;
    }
};

pub const CardInfo = struct {
    mounted: bool,
    card_type: u8, // 1 SDSC, 2 SDHC/SDXC, 3 MMC, 4 SDIO; portal-host: 2
    capacity: u64, // bytes
    name: [6]u8, // the card's product name, NUL-padded; portal-host: "HOST"
};

pub fn cardInfo() Error!CardInfo {
    var rec: [18]u8 = undefined;
    _ = try errors.check(ffi.fsCardInfo(&rec, rec.len));
    var info = CardInfo{ .mounted = rec[0] != 0, .card_type = rec[1], .capacity = le64(rec[4..12]), .name = undefined };
    @memcpy(&info.name, rec[12..18]);
    return info;
}

pub const ReadFileError = Error || error{ OutOfMemory, FileTooBig, IsDir };

/// Reads the whole file at `path` (at most max_len bytes: its size when opened) into memory from
/// `allocator`; the caller frees it.
pub fn readFileAlloc(allocator: std.mem.Allocator, path: [:0]const u8, max_len: usize) ReadFileError![]u8 {
    const st = try stat(path);
    if (st.is_dir) return error.IsDir;
    if (st.size > max_len) return error.FileTooBig;
    var file = try File.open(path, OpenFlags.read);
    defer file.close();
    const buf = try allocator.alloc(u8, @intCast(st.size));
    errdefer allocator.free(buf);
    var n: usize = 0;
    while (n < buf.len) {
        const got = try file.read(buf[n..]);
        if (got == 0) break; // shorter now than when stat looked
        n += got;
    }
    if (n < buf.len) return allocator.realloc(buf, n);
    return buf;
}
