#include "simulator/loopback/shaped_link.h"

#include "core/common/error.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

namespace exitscope::simulator {

using core::Error;

namespace {

constexpr uint8_t kMagic[4] = {'X', 'S', 'S', 'R'};
constexpr uint16_t kVersion = 1;
// One TCP segment's payload on a 1500-byte MTU: the shaper's unit of pacing.
constexpr std::size_t kChunkBytes = 1448;

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
}

template <typename T>
T get(const uint8_t* p) {
    uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return static_cast<T>(v);
}

std::string sysError(const std::string& what) { return what + ": " + std::strerror(errno); }

double steadyMs() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void sleepUntilMs(double targetMs) {
    const auto now = steadyMs();
    if (targetMs <= now) return;
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(targetMs - now));
}

void writeAll(int fd, const uint8_t* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(sysError("split link: send failed"));
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void readAll(int fd, uint8_t* data, std::size_t size, double timeoutMs) {
    const double deadline = steadyMs() + timeoutMs;
    while (size > 0) {
        pollfd p{fd, POLLIN, 0};
        const double left = deadline - steadyMs();
        if (left <= 0) throw Error("split link: nothing received within " + std::to_string(timeoutMs) + " ms");
        const int r = ::poll(&p, 1, static_cast<int>(std::ceil(left)));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw Error(sysError("split link: poll failed"));
        }
        if (r == 0) continue;
        const ssize_t n = ::recv(fd, data, size, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(sysError("split link: receive failed"));
        }
        if (n == 0) throw Error("split link: the peer closed the connection in the middle of a frame");
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

/// The link's rate in bytes per ms; closes `fd` before reporting a bad
/// bandwidth or burst, since the socket that would own it is never made.
double rateOrClose(int fd, double mbps, double burstBytes) {
    if (!std::isfinite(mbps) || mbps <= 0 || !std::isfinite(burstBytes) || burstBytes < 0) {
        ::close(fd);
        throw Error(mbps > 0 ? "split link: the burst must be >= 0 bytes" : "split link: the bandwidth must be > 0 Mbit/s");
    }
    return mbps * 1e6 / 8.0 / 1000.0;
}

} // namespace

TokenBucket::TokenBucket(double bytesPerMs, double burstBytes) : m_rate(bytesPerMs), m_burst(burstBytes), m_tokens(burstBytes) {
    if (!std::isfinite(bytesPerMs) || bytesPerMs <= 0) throw Error("token bucket: the rate must be > 0");
    if (!std::isfinite(burstBytes) || burstBytes < 0) throw Error("token bucket: the burst must be >= 0");
}

double TokenBucket::reserve(double nowMs, double bytes) {
    if (!m_started) {
        m_started = true;
        m_lastMs = nowMs;
    }
    // A request may arrive while earlier bytes are still being paid for:
    // it then queues behind them.
    const double start = std::max(nowMs, m_lastMs);
    m_tokens = std::min(m_burst, m_tokens + (start - m_lastMs) * m_rate);
    double departure = start;
    if (m_tokens >= bytes) {
        m_tokens -= bytes;
    } else {
        departure = start + (bytes - m_tokens) / m_rate;
        m_tokens = 0;
    }
    m_lastMs = departure;
    return departure;
}

std::vector<uint8_t> encodeFrameHeader(const FrameHeader& h) {
    std::vector<uint8_t> out(kMagic, kMagic + 4);
    put(out, kVersion);
    put(out, h.type);
    put(out, h.requestId);
    put(out, h.blocksOnDevice);
    put(out, static_cast<uint32_t>(h.value));
    put(out, static_cast<uint32_t>(h.exit));
    put(out, h.bodyLength);
    return out;
}

FrameHeader parseFrameHeader(const uint8_t* p, std::size_t size, uint64_t maxBody) {
    if (size < kFrameHeaderBytes)
        throw Error("split link: frame header of " + std::to_string(size) + " bytes, expected " +
                    std::to_string(kFrameHeaderBytes));
    if (std::memcmp(p, kMagic, 4) != 0) throw Error("split link: bad frame magic");
    if (get<uint16_t>(p + 4) != kVersion)
        throw Error("split link: frame version " + std::to_string(get<uint16_t>(p + 4)) + " is not 1");
    FrameHeader h;
    h.type = get<uint16_t>(p + 6);
    if (h.type != FrameHeader::Request && h.type != FrameHeader::Reply && h.type != FrameHeader::Shutdown)
        throw Error("split link: unknown frame type " + std::to_string(h.type));
    h.requestId = get<uint32_t>(p + 8);
    h.blocksOnDevice = get<uint32_t>(p + 12);
    h.value = static_cast<int32_t>(get<uint32_t>(p + 16));
    h.exit = static_cast<int32_t>(get<uint32_t>(p + 20));
    h.bodyLength = get<uint64_t>(p + 24);
    if (h.bodyLength > maxBody)
        throw Error("split link: frame body of " + std::to_string(h.bodyLength) + " bytes exceeds the limit of " +
                    std::to_string(maxBody));
    return h;
}

ShapedSocket::ShapedSocket(int fd, double mbps, double oneWayDelayMs, double burstBytes, double receiveTimeoutMs)
    : m_fd(fd), m_oneWayDelayMs(oneWayDelayMs), m_bucket(rateOrClose(fd, mbps, burstBytes), burstBytes),
      m_receiveTimeoutMs(receiveTimeoutMs) {
    if (!std::isfinite(oneWayDelayMs) || oneWayDelayMs < 0) {
        ::close(fd);
        throw Error("split link: the delay must be >= 0");
    }
    const int one = 1;
    ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

ShapedSocket::~ShapedSocket() {
    if (m_fd >= 0) ::close(m_fd);
}

std::size_t ShapedSocket::send(const FrameHeader& header, const std::vector<uint8_t>& body) {
    FrameHeader h = header;
    h.bodyLength = body.size();
    std::vector<uint8_t> frame = encodeFrameHeader(h);
    frame.insert(frame.end(), body.begin(), body.end());
    // The propagation delay holds the whole frame back; the sender then pays
    // each chunk's serialisation before it leaves. Deadlines are absolute, so
    // sleep overshoot does not accumulate over the chunks.
    const double start = steadyMs() + m_oneWayDelayMs;
    for (std::size_t off = 0; off < frame.size(); off += kChunkBytes) {
        const std::size_t n = std::min(kChunkBytes, frame.size() - off);
        sleepUntilMs(m_bucket.reserve(start, static_cast<double>(n)));
        writeAll(m_fd, frame.data() + off, n);
    }
    return frame.size();
}

FrameHeader ShapedSocket::receive(std::vector<uint8_t>& body, uint64_t maxBody) {
    uint8_t head[kFrameHeaderBytes];
    readAll(m_fd, head, sizeof head, m_receiveTimeoutMs);
    const FrameHeader h = parseFrameHeader(head, sizeof head, maxBody);
    body.resize(static_cast<std::size_t>(h.bodyLength));
    if (!body.empty()) readAll(m_fd, body.data(), body.size(), m_receiveTimeoutMs);
    return h;
}

LoopbackListener::LoopbackListener() {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0) throw Error(sysError("split link: cannot create a socket"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_fd, 4) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const auto message = sysError("split link: cannot listen on 127.0.0.1");
        ::close(m_fd);
        throw Error(message);
    }
    m_port = ntohs(addr.sin_port);
}

LoopbackListener::~LoopbackListener() {
    if (m_fd >= 0) ::close(m_fd);
}

int LoopbackListener::accept(double timeoutMs) {
    pollfd p{m_fd, POLLIN, 0};
    int r;
    do {
        r = ::poll(&p, 1, static_cast<int>(std::ceil(timeoutMs)));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) throw Error("split link: no connection on port " + std::to_string(m_port) + " within " +
                            std::to_string(static_cast<int>(timeoutMs)) + " ms");
    const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) throw Error(sysError("split link: accept failed"));
    return fd;
}

int connectLoopback(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error(sysError("split link: cannot create a socket"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const auto message = sysError("split link: cannot connect to 127.0.0.1:" + std::to_string(port));
        ::close(fd);
        throw Error(message);
    }
    return fd;
}

} // namespace exitscope::simulator
