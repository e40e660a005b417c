#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::simulator {

/// A token bucket that paces bytes onto a link of a given rate. Tokens
/// (bytes) accrue at `bytesPerMs` up to `burstBytes`; sending c bytes needs c
/// tokens, and when too few are there the bytes leave once enough have
/// accrued. With a burst of 0 every byte pays its serialisation time, which
/// is what the latency model charges (Link::serialisationMs). Time is a
/// plain number of milliseconds so that the schedule can be checked exactly.
class TokenBucket {
public:
    /// Error when the rate is not > 0 or the burst is negative or not finite.
    TokenBucket(double bytesPerMs, double burstBytes);

    /// Reserves `bytes` asked for at `nowMs` (times must not go backwards) and
    /// returns the time at which they have been paid for and may leave.
    double reserve(double nowMs, double bytes);

    double bytesPerMs() const { return m_rate; }

private:
    double m_rate;
    double m_burst;
    double m_tokens;
    double m_lastMs = 0.0;
    bool m_started = false;
};

/// The frame that carries one request or reply between the device and the
/// server processes of `exitscope-cli split-run`. Header, all little-endian:
/// "XSSR" magic, u16 version (1), u16 type, u32 request id, u32 blocks on
/// the device, i32 value (the reply's class; -1 in requests), i32 exit (the
/// reply's exit), u64 body length; then the body (a codec payload).
struct FrameHeader {
    enum Type : uint16_t { Request = 1, Reply = 2, Shutdown = 3 };
    uint16_t type = Request;
    uint32_t requestId = 0;
    uint32_t blocksOnDevice = 0;
    int32_t value = -1;
    int32_t exit = -1;
    uint64_t bodyLength = 0;
};

constexpr std::size_t kFrameHeaderBytes = 32;

/// The header's bytes.
std::vector<uint8_t> encodeFrameHeader(const FrameHeader& header);

/// Parses and checks a header (magic, version, type, body length at most
/// `maxBody`). Error naming the problem otherwise.
FrameHeader parseFrameHeader(const uint8_t* bytes, std::size_t size, uint64_t maxBody);

/// A TCP connection on 127.0.0.1 that sends through a token bucket and a
/// one-way delay: a frame leaves after `oneWayDelayMs` and its bytes are
/// paced in chunks at the link's rate, so the last byte reaches the peer
/// serialisation + delay after send() was called. The peer's replies are
/// shaped by its own ShapedSocket. Receiving has a timeout, so a peer that
/// dies or stalls gives an Error instead of a hang. Owns the descriptor.
class ShapedSocket {
public:
    /// `mbps` > 0 (Error otherwise), `oneWayDelayMs` >= 0, `burstBytes` >= 0.
    ShapedSocket(int fd, double mbps, double oneWayDelayMs, double burstBytes, double receiveTimeoutMs);
    ~ShapedSocket();
    ShapedSocket(const ShapedSocket&) = delete;
    ShapedSocket& operator=(const ShapedSocket&) = delete;

    /// Sends the header and the body through the shaper; returns the bytes sent.
    std::size_t send(const FrameHeader& header, const std::vector<uint8_t>& body);
    /// Receives one frame; Error when the peer closes mid-frame, the header is
    /// bad, the body exceeds `maxBody`, or nothing arrives within the timeout.
    FrameHeader receive(std::vector<uint8_t>& body, uint64_t maxBody);

    int fd() const { return m_fd; }

private:
    int m_fd;
    double m_oneWayDelayMs;
    TokenBucket m_bucket;
    double m_receiveTimeoutMs;
};

/// A listening TCP socket on 127.0.0.1 with a port chosen by the kernel.
/// Loopback only: it never binds another address.
class LoopbackListener {
public:
    LoopbackListener();
    ~LoopbackListener();
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;

    uint16_t port() const { return m_port; }
    int fd() const { return m_fd; }
    /// Accepts one connection within `timeoutMs`; Error when none arrives.
    int accept(double timeoutMs);

private:
    int m_fd = -1;
    uint16_t m_port = 0;
};

/// Connects to 127.0.0.1:`port` with TCP_NODELAY; Error naming the port.
int connectLoopback(uint16_t port);

} // namespace exitscope::simulator
