#include "app/gui/network_backend.h"

#include "core/common/error.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLibrary>

#include <mutex>
#include <thread>

namespace exitscope::app {

namespace {

std::mutex g_mutex;
NetworkBackend* g_backend = nullptr;  // lives as long as the process: the plugin is never unloaded
std::string g_error;
std::mutex g_preloadMutex;
std::thread g_preload;

using Factory = NetworkBackend* (*)();

NetworkBackend* loadLocked() {
    if (g_backend) return g_backend;
    const std::string path = networkPluginPath();
    // Never unloaded: LibTorch registers static state that must outlive every caller.
    auto* library = new QLibrary(QString::fromStdString(path));
    if (!library->load()) {
        g_error = path + ": the network plugin does not load: " + library->errorString().toStdString();
        return nullptr;
    }
    auto factory = reinterpret_cast<Factory>(library->resolve("exitscope_network_backend_v1"));
    if (!factory) {
        g_error = path + ": not the ExitScope network plugin (no exitscope_network_backend_v1)";
        return nullptr;
    }
    g_backend = factory();
    return g_backend;
}

} // namespace

std::string networkPluginPath() {
    const QString configured = qEnvironmentVariable("EXITSCOPE_NETWORK_PLUGIN");
    if (!configured.isEmpty()) return configured.toStdString();
    const QString name = QStringLiteral("libexitscope_network.so");
    QStringList candidates;
    if (QCoreApplication::instance()) {
        const QDir bin(QCoreApplication::applicationDirPath());
        candidates << bin.filePath(name) << bin.filePath(QStringLiteral("../lib/exitscope/") + name);
    }
    candidates << QStringLiteral(EXITSCOPE_NETWORK_PLUGIN_BUILD_PATH);
    for (const QString& c : candidates)
        if (QFileInfo(c).isFile()) return QFileInfo(c).absoluteFilePath().toStdString();
    return candidates.front().toStdString();
}

NetworkBackend& networkBackend() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (NetworkBackend* b = loadLocked()) return *b;
    throw core::Error(g_error);
}

void preloadNetworkBackend() {
    std::lock_guard<std::mutex> lock(g_preloadMutex);
    if (g_preload.joinable()) return;
    g_preload = std::thread([] {
        std::lock_guard<std::mutex> lock(g_mutex);
        loadLocked();
    });
}

void finishNetworkPreload() {
    std::lock_guard<std::mutex> lock(g_preloadMutex);
    // A process that ends while LibTorch is still being loaded would tear down
    // what that thread is using.
    if (g_preload.joinable()) g_preload.join();
}

bool networkBackendReady() {
    std::unique_lock<std::mutex> lock(g_mutex, std::try_to_lock);
    return lock.owns_lock() && g_backend != nullptr;
}

} // namespace exitscope::app
