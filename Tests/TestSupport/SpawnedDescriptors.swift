// Helpers shared by the test targets that spawn processes (no module of the product uses them).
import Glibc

/// Makes the child close every descriptor from 3 up: tests run in parallel in one process, and a
/// child that inherits another test's socket keeps it open after that test closes it, so its peer
/// never sees the end (a session through Switchman then stays open). glibc 2.34+ has
/// `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not import; without
/// it, each descriptor open now is closed one by one.
public func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        return
    }
    guard let directory = opendir("/proc/self/fd") else { return }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    }
}
