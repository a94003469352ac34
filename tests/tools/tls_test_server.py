#!/usr/bin/env python3
"""tls_test_server.py - servers on 127.0.0.1 for test_tls_client.sh that openssl s_server cannot
play. Each listens on a port the kernel picks, prints "port N" and serves until killed (the script
wraps it in `timeout`):
  stall            accepts, reads whatever comes, never answers (a handshake that hangs)
  half-hello       answers the ClientHello with the first half of a handshake record, then hangs
  reset            reads the ClientHello, then resets the connection (SO_LINGER 0: RST)
  http CERT KEY    HTTPS/1.1 on a real TLS stack (Python's ssl): GET /len/N answers N body bytes
                   with Content-Length, /chunked/N N bytes in chunks (with a chunk extension and
                   a trailer), /status/N an empty response with that status; one client at a time
"""
import socket
import ssl
import struct
import sys
import threading


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)  # a crowd of connects completes at once, no SYN retried a second later
    print("port %d" % s.getsockname()[1], flush=True)
    return s


def hold(conn, first_answer=None):
    """Reads until the client goes away; answers the first read with first_answer."""
    try:
        data = conn.recv(4096)
        if data and first_answer:
            conn.sendall(first_answer)
        while data:
            data = conn.recv(4096)
    except OSError:
        pass
    conn.close()


def serve_raw(mode):
    s = listener()
    # A handshake record header announcing 100 bytes, then a ServerHello header and 10 of them.
    half = b"\x16\x03\x03\x00\x64" + b"\x02\x00\x00\x60\x03\x03" + b"\x00" * 10
    while True:
        conn, _ = s.accept()
        if mode == "reset":
            conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        else:
            threading.Thread(target=hold, args=(conn, half if mode == "half-hello" else None),
                             daemon=True).start()


def serve_http(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = listener()
    while True:
        conn, _ = s.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                path = head.split(b" ")[1].decode() if head.count(b" ") >= 2 else "/"
                parts = path.strip("/").split("/")
                n = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else 0
                body = bytes(i % 251 for i in range(n))
                if parts[0] == "len":
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                                % n + body)
                elif parts[0] == "chunked":
                    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    for i in range(0, n, 1000):
                        piece = body[i:i + 1000]
                        out += b"%x;piece=%d\r\n" % (len(piece), i) + piece + b"\r\n"
                    out += b"0\r\nX-Trailer: yes\r\n\r\n"
                    tls.sendall(out)
                elif parts[0] == "status":
                    tls.sendall(b"HTTP/1.1 %d Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                % n)
                tls.unwrap()
        except (OSError, ssl.SSLError, ValueError):
            pass


if __name__ == "__main__":
    if sys.argv[1] == "http":
        serve_http(sys.argv[2], sys.argv[3])
    else:
        serve_raw(sys.argv[1])
