import CShims
import Glibc

/// Starts detached pthreads (Foundation's Thread is not needed for this).
public enum DetachedThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) { self.name = name; self.body = body }
    }

    /// Runs `body` on a new detached thread with the given name (visible in `top -H`, at most 15 bytes).
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            // The pointer is the retained Box passed to pthread_create just above.
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            switchman_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }
}
