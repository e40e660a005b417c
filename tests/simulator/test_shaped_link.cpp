#include "core/common/error.h"
#include "simulator/loopback/shaped_link.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using exitscope::core::Error;
using namespace exitscope::simulator;

// ---- Token bucket: departure times computed by hand -----------------------

TEST(TokenBucket, WithoutBurstEveryBytePaysItsSerialisation) {
    TokenBucket bucket(1.0, 0.0);  // 1 byte per ms
    EXPECT_DOUBLE_EQ(bucket.reserve(0, 100), 100);
    EXPECT_DOUBLE_EQ(bucket.reserve(100, 50), 150);
    // An idle link gathers no tokens when the burst is 0.
    EXPECT_DOUBLE_EQ(bucket.reserve(300, 10), 310);
}

TEST(TokenBucket, BytesAskedWhileOthersArePayingQueueBehindThem) {
    TokenBucket bucket(2.0, 0.0);
    EXPECT_DOUBLE_EQ(bucket.reserve(0, 100), 50);
    EXPECT_DOUBLE_EQ(bucket.reserve(10, 20), 60);  // waits for the first 50 ms, then 10 ms of its own
}

TEST(TokenBucket, ABurstLeavesAtOnceAndRefillsAtTheRateUpToItsSize) {
    TokenBucket bucket(1.0, 100.0);
    EXPECT_DOUBLE_EQ(bucket.reserve(0, 60), 0);   // 40 tokens left
    EXPECT_DOUBLE_EQ(bucket.reserve(0, 60), 20);  // 20 missing at 1 byte/ms
    // 1,000 ms idle refills only up to the burst of 100.
    EXPECT_DOUBLE_EQ(bucket.reserve(1020, 100), 1020);
    EXPECT_DOUBLE_EQ(bucket.reserve(1020, 1), 1021);
}

TEST(TokenBucket, BadRateOrBurstIsAnError) {
    EXPECT_THROW(TokenBucket(0.0, 0.0), Error);
    EXPECT_THROW(TokenBucket(-1.0, 0.0), Error);
    EXPECT_THROW(TokenBucket(1.0, -1.0), Error);
}

// ---- Frames ----------------------------------------------------------------

TEST(SplitFrame, HeaderRoundTrips) {
    FrameHeader h;
    h.type = FrameHeader::Reply;
    h.requestId = 0xdeadbeef;
    h.blocksOnDevice = 7;
    h.value = -3;
    h.exit = 4;
    h.bodyLength = 1234;
    const auto bytes = encodeFrameHeader(h);
    ASSERT_EQ(bytes.size(), kFrameHeaderBytes);
    const auto back = parseFrameHeader(bytes.data(), bytes.size(), 1234);
    EXPECT_EQ(back.type, h.type);
    EXPECT_EQ(back.requestId, h.requestId);
    EXPECT_EQ(back.blocksOnDevice, h.blocksOnDevice);
    EXPECT_EQ(back.value, h.value);
    EXPECT_EQ(back.exit, h.exit);
    EXPECT_EQ(back.bodyLength, h.bodyLength);
}

TEST(SplitFrame, MalformedHeadersAreRejected) {
    FrameHeader h;
    h.bodyLength = 100;
    const auto good = encodeFrameHeader(h);
    EXPECT_THROW(parseFrameHeader(good.data(), good.size() - 1, 1000), Error);  // short
    EXPECT_THROW(parseFrameHeader(good.data(), good.size(), 99), Error);        // body over the limit
    auto bad = good;
    bad[0] = 'Y';
    EXPECT_THROW(parseFrameHeader(bad.data(), bad.size(), 1000), Error);  // magic
    bad = good;
    bad[4] = 2;
    EXPECT_THROW(parseFrameHeader(bad.data(), bad.size(), 1000), Error);  // version
    bad = good;
    bad[6] = 9;
    EXPECT_THROW(parseFrameHeader(bad.data(), bad.size(), 1000), Error);  // type
}

// ---- Shaped sockets on 127.0.0.1 ------------------------------------------

TEST(ShapedSocket, AFrameCrossesLoopbackIntact) {
    LoopbackListener listener;
    ASSERT_GT(listener.port(), 0);
    ShapedSocket sender(connectLoopback(listener.port()), 1000.0, 0.0, 0.0, 5000);
    ShapedSocket receiver(listener.accept(5000), 1000.0, 0.0, 0.0, 5000);
    std::vector<uint8_t> body(10000);
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(i * 31 + 7);
    FrameHeader h;
    h.requestId = 42;
    EXPECT_EQ(sender.send(h, body), kFrameHeaderBytes + body.size());
    std::vector<uint8_t> got;
    const auto back = receiver.receive(got, 1 << 20);
    EXPECT_EQ(back.requestId, 42u);
    EXPECT_EQ(got, body);
}

TEST(ShapedSocket, SendingTakesAtLeastTheSerialisationAndTheDelay) {
    LoopbackListener listener;
    // 12,500 bytes at 1 Mbit/s take 100 ms on the wire, plus 20 ms of delay.
    ShapedSocket sender(connectLoopback(listener.port()), 1.0, 20.0, 0.0, 5000);
    ShapedSocket receiver(listener.accept(5000), 1.0, 0.0, 0.0, 5000);
    const std::vector<uint8_t> body(12500 - kFrameHeaderBytes, 1);
    const auto t0 = std::chrono::steady_clock::now();
    std::thread t([&] { sender.send(FrameHeader{}, body); });
    std::vector<uint8_t> got;
    receiver.receive(got, 1 << 20);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    t.join();
    EXPECT_GE(ms, 119.0);  // sleeps only ever overshoot; an unshaped send takes well under 1 ms
    EXPECT_EQ(got.size(), body.size());
}

TEST(ShapedSocket, APeerClosingMidFrameIsAnErrorNotAHang) {
    LoopbackListener listener;
    const int raw = connectLoopback(listener.port());
    ShapedSocket receiver(listener.accept(5000), 1000.0, 0.0, 0.0, 5000);
    FrameHeader h;
    h.bodyLength = 1000;
    const auto head = encodeFrameHeader(h);
    ASSERT_EQ(::send(raw, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    ::close(raw);  // the promised body never comes
    std::vector<uint8_t> got;
    EXPECT_THROW(receiver.receive(got, 1 << 20), Error);
}

TEST(LoopbackListener, NoConnectionWithinTheTimeoutIsAnError) {
    LoopbackListener listener;
    EXPECT_THROW(listener.accept(50), Error);
}

TEST(ShapedSocket, SilenceTimesOut) {
    LoopbackListener listener;
    const int raw = connectLoopback(listener.port());
    ShapedSocket receiver(listener.accept(5000), 1000.0, 0.0, 0.0, 100);
    std::vector<uint8_t> got;
    EXPECT_THROW(receiver.receive(got, 1 << 20), Error);
    ::close(raw);
}

TEST(ShapedSocket, BadLinkValuesAreErrors) {
    LoopbackListener listener;
    EXPECT_THROW(ShapedSocket(connectLoopback(listener.port()), 0.0, 0.0, 0.0, 100), Error);
    EXPECT_THROW(ShapedSocket(connectLoopback(listener.port()), 10.0, -1.0, 0.0, 100), Error);
}
