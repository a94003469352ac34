//! net.zig - module `portal_net`: network status, own IPv4 address, IPv4 name lookup.
const ffi = @import("ffi.zig");
const err = @import("error.zig");
const socket = @import("socket.zig");

pub const WifiMode = struct {
    pub const off: i32 = 0;
    pub const station: i32 = 1;
    pub const softap: i32 = 2;
    pub const station_softap: i32 = 3;
};

/// True when the device has an IP address (portal-host: always).
pub fn isReady() bool {
    return ffi.netIsReady() == 1;
}

/// Starts joining the stored Wi-Fi network (portal-host: nothing to do).
pub fn connect() err.Error!void {
    return err.checkVoid(ffi.netConnect());
}

pub fn disconnect() err.Error!void {
    return err.checkVoid(ffi.netDisconnect());
}

/// The device's IPv4 address, network order.
pub fn getIpv4() err.Error![4]u8 {
    var ip = [4]u8{ 0, 0, 0, 0 };
    _ = try err.check(ffi.netGetIpv4(&ip, ip.len));
    return ip;
}

/// Looks `host` up (blocking); null when it does not resolve.
pub fn resolveIpv4(host: [*:0]const u8) err.Error!?[4]u8 {
    var ip = [4]u8{ 0, 0, 0, 0 };
    const n = try err.check(ffi.netResolveIpv4(host, &ip, ip.len));
    if (n != 4) return null;
    return ip;
}

/// Resolves `host` into an IPv4 SocketAddr with `port`; null when it does not resolve.
pub fn resolveAddr4(host: [*:0]const u8, port: u16) err.Error!?socket.SocketAddr {
    const ip = (try resolveIpv4(host)) orelse return null;
    return socket.SocketAddr.init(ip, port);
}

pub fn wifiMode() err.Error!i32 {
    return err.check(ffi.wifiGetMode());
}
