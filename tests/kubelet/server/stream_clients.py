"""Minimal clients for the streaming protocols the API server speaks, for bed_kubelet_server.py:
a WebSocket (RFC 6455: masked frames out, unmasked in) over TLS to the API server with the
admin kubeconfig's credentials, and just enough SPDY/3.1 client (SYN_STREAM, DATA) to ask the
kubelet's port-forward protocol for one connection to a pod port through the WebSocket tunnel
"SPDY/3.1+portforward.k8s.io". Only what the tests need; no flow control beyond SPDY's initial
window, so a test's answers must stay well under 64 KiB."""

import base64
import os
import shutil
import socket
import ssl
import struct
import tempfile
import zlib

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 1, 2, 8, 9, 10


def frame_size(data):
    """The size of the WebSocket frame at the start of data (huge while the length is
    incomplete)."""
    if len(data) < 2:
        return 1 << 62
    length = data[1] & 0x7F
    if length == 126:
        return 4 + struct.unpack(">H", data[2:4])[0] if len(data) >= 4 else 1 << 62
    if length == 127:
        return 10 + struct.unpack(">Q", data[2:10])[0] if len(data) >= 10 else 1 << 62
    return 2 + length


class WebSocket:
    """A WebSocket to the API server; a context manager that closes it."""

    def __init__(self, test, config, target, protocol):
        self.test = test
        server = config["clusters"][0]["cluster"]["server"]
        user = config["users"][0]["user"]
        host, port = server.split("//")[1].rsplit(":", 1)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        headers = ""
        if "client-certificate-data" in user:
            # The key only needs to be on disk while the context loads it.
            folder = tempfile.mkdtemp()
            try:
                cert, key = os.path.join(folder, "c.crt"), os.path.join(folder, "c.key")
                with open(cert, "wb") as f:
                    f.write(base64.b64decode(user["client-certificate-data"]))
                with open(key, "wb") as f:
                    f.write(base64.b64decode(user["client-key-data"]))
                context.load_cert_chain(cert, key)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        else:
            headers += f"Authorization: Bearer {user['token']}\r\n"
        self.protocol = protocol
        self.sock = context.wrap_socket(socket.create_connection((host, int(port)), timeout=20))
        try:
            self.handshake(target, f"{host}:{port}", headers)
        except BaseException:
            self.close()
            raise

    def handshake(self, target, authority, headers):
        self.sock.sendall((f"GET {target} HTTP/1.1\r\n"
                           f"Host: {authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           f"Sec-WebSocket-Protocol: {self.protocol}\r\n{headers}\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            self.test.assertTrue(chunk, data)
            data += chunk
        self.head, self.data = data.split(b"\r\n\r\n", 1)
        self.status = int(self.head.split(b"\r\n")[0].split()[1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def expect_switch(self):
        """Asserts the server switched to WebSocket with our protocol."""
        self.test.assertEqual(self.status, 101, self.head + self.data)
        self.test.assertIn(f"sec-websocket-protocol: {self.protocol}".lower().encode(),
                           self.head.lower())

    def refusal(self):
        """The body of a non-101 answer (the server closes or sends Content-Length bytes)."""
        length = 0
        for line in self.head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.data) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.data += chunk
        return self.data.decode(errors="replace")

    def receive(self):
        """The next frame: (opcode, payload)."""
        while len(self.data) < frame_size(self.data):
            chunk = self.sock.recv(65536)
            self.test.assertTrue(chunk, "the WebSocket ended without a close message")
            self.data += chunk
        size = frame_size(self.data)
        frame, self.data = self.data[:size], self.data[size:]
        length = frame[1] & 0x7F
        offset = 2 + (2 if length == 126 else 8 if length == 127 else 0)
        return frame[0] & 0x0F, frame[offset:]

    def messages_until_close(self):
        messages = []
        while True:
            message = self.receive()
            messages.append(message)
            if message[0] == OP_CLOSE:
                return messages

    def send(self, payload, opcode=OP_BINARY):
        """One final frame, masked as a client must."""
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            head = struct.pack(">BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)


SPDY_SYN_STREAM, SPDY_RST_STREAM, SPDY_GOAWAY = 1, 3, 7
SPDY_FLAG_FIN = 1


class SpdyPortForward:
    """A port-forward session's client side in SPDY/3.1 frames, carried by a WebSocket
    tunnel: one error and one data stream for request 0 to `port`."""

    ERROR, DATA = 1, 3  # client-initiated streams have odd ids

    def __init__(self, ws, port):
        self.ws = ws
        # One zlib context for all header blocks the client sends, each flushed with
        # Z_SYNC_FLUSH (SPDY's rule). Without the SPDY dictionary: the zlib header then asks
        # for none, which receivers accept.
        self.deflate = zlib.compressobj()
        self.spdy = b""
        for stream, kind, flags in ((self.ERROR, "error", SPDY_FLAG_FIN), (self.DATA, "data", 0)):
            self.syn_stream(stream, flags, {"streamtype": kind, "port": str(port),
                                            "requestid": "0"})

    def syn_stream(self, stream, flags, headers):
        block = struct.pack(">I", len(headers))
        for name, value in headers.items():
            block += struct.pack(">I", len(name)) + name.encode()
            block += struct.pack(">I", len(value)) + value.encode()
        compressed = self.deflate.compress(block) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        body = struct.pack(">IIBB", stream, 0, 0, 0) + compressed
        self.ws.send(struct.pack(">HHI", 0x8003, SPDY_SYN_STREAM, (flags << 24) | len(body)) +
                     body)

    def write(self, payload, fin=False):
        self.ws.send(struct.pack(">II", self.DATA, ((SPDY_FLAG_FIN if fin else 0) << 24) |
                                 len(payload)) + payload)

    def read_until(self, done):
        """Data received on the data stream until done(data) or its FIN; also what the error
        stream said (the kubelet reports a failed dial there)."""
        received = {self.ERROR: b"", self.DATA: b""}
        while not done(received[self.DATA]):
            while len(self.spdy) < 8 or len(self.spdy) < 8 + (
                    struct.unpack(">I", self.spdy[4:8])[0] & 0xFFFFFF):
                opcode, payload = self.ws.receive()
                self.ws.test.assertNotEqual(opcode, OP_CLOSE, received)
                if opcode == OP_PING:
                    self.ws.send(payload, OP_PONG)
                elif opcode == OP_BINARY:
                    self.spdy += payload
            first, word = struct.unpack(">II", self.spdy[:8])
            flags, length = word >> 24, word & 0xFFFFFF
            frame, self.spdy = self.spdy[8:8 + length], self.spdy[8 + length:]
            if first & 0x80000000:  # control frame: a reset or goaway ends it, others do not
                if first & 0xFFFF in (SPDY_RST_STREAM, SPDY_GOAWAY):
                    break
                continue
            stream = first & 0x7FFFFFFF
            if stream in received:
                received[stream] += frame
            if stream == self.DATA and flags & SPDY_FLAG_FIN:
                break
        return received[self.DATA], received[self.ERROR]
