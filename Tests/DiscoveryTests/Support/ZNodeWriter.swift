import CZooKeeper
@testable import Discovery
import Foundation

/// A test-only ZooKeeper writer playing Patroni: synchronous C calls, made from the test's thread
/// (never from a completion thread, where they would wait on themselves).
final class ZNodeWriter: @unchecked Sendable {
    private let zh: OpaquePointer

    /// Who may touch the nodes this writer creates.
    enum Access {
        /// `world:anyone` (Patroni's default).
        case open
        /// Only the writer's authenticated identity (`auth` ACL → `digest:user:hash`).
        case creatorOnly
    }

    /// Connects (bounded wait) and, with `digest`, authenticates as `user:password`.
    init(port: UInt16, digest: String? = nil) throws {
        guard let zh = zookeeper_init2("127.0.0.1:\(port)", writerWatcher, 10_000, nil, nil, 0, zooKeeperLogCallback) else {
            throw TestFailure("zookeeper_init failed")
        }
        self.zh = zh
        let deadline = ContinuousClock.now + .seconds(15)
        while zoo_state(zh) != ZOO_CONNECTED_STATE {
            guard ContinuousClock.now < deadline else {
                zookeeper_close(zh)
                throw TestFailure("writer could not connect to ZooKeeper on \(port)")
            }
            usleep(10_000)
        }
        if let digest {
            let bytes = Array(digest.utf8).map { CChar(bitPattern: $0) }
            let rc = bytes.withUnsafeBufferPointer { zoo_add_auth(zh, "digest", $0.baseAddress, Int32($0.count), nil, nil) }
            guard rc == ZOK.rawValue else { throw TestFailure("zoo_add_auth: \(rc)") }
        }
    }

    deinit { zookeeper_close(zh) }

    /// Creates `path` (and missing parents, empty) holding `data`.
    func create(_ path: String, _ data: String, access: Access = .open) throws {
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            parent += "/" + component
            let rc = raw(parent, nil, access: access)
            guard rc == ZOK.rawValue || rc == ZNODEEXISTS.rawValue else { throw TestFailure("create \(parent): \(rc)") }
        }
        let rc = raw(path, Array(data.utf8), access: access)
        guard rc == ZOK.rawValue else { throw TestFailure("create \(path): \(rc)") }
    }

    /// Replaces `path`'s data.
    func set(_ path: String, _ data: String) throws {
        let bytes = Array(data.utf8).map { CChar(bitPattern: $0) }
        let rc = bytes.withUnsafeBufferPointer { zoo_set(zh, path, $0.baseAddress, Int32($0.count), -1) }
        guard rc == ZOK.rawValue else { throw TestFailure("set \(path): \(rc)") }
    }

    /// Deletes `path` (which must have no children).
    func delete(_ path: String) throws {
        let rc = zoo_delete(zh, path, -1)
        guard rc == ZOK.rawValue else { throw TestFailure("delete \(path): \(rc)") }
    }

    private func raw(_ path: String, _ data: [UInt8]?, access: Access) -> Int32 {
        let bytes = (data ?? []).map { CChar(bitPattern: $0) }
        return bytes.withUnsafeBufferPointer { buffer in
            let length = data == nil ? -1 : Int32(buffer.count)
            switch access {
            case .open:
                return zoo_create(zh, path, data == nil ? nil : buffer.baseAddress, length, switchman_zoo_open_acl_unsafe(), 0, nil, 0)
            case .creatorOnly:
                return "auth".withCString { scheme in
                    "".withCString { id in
                        var acl = ACL(perms: ZOO_PERM_ALL, id: Id(scheme: UnsafeMutablePointer(mutating: scheme), id: UnsafeMutablePointer(mutating: id)))
                        return withUnsafeMutablePointer(to: &acl) { aclPointer in
                            var vector = ACL_vector(count: 1, data: aclPointer)
                            return zoo_create(zh, path, data == nil ? nil : buffer.baseAddress, length, &vector, 0, nil, 0)
                        }
                    }
                }
            }
        }
    }
}

/// The writer's default watcher: it watches nothing.
private func writerWatcher(
    _ zh: OpaquePointer?, _ type: Int32, _ state: Int32, _ path: UnsafePointer<CChar>?, _ context: UnsafeMutableRawPointer?
) {}
