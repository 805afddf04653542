import Reactor
import SwitchmanCore

/// The sessions of one loop that wait for a server: held until their listener's route lets them
/// connect (a failover, a leader that refuses connects, a switchover), or queued for a slot on a
/// server at its `server_maxconn`. Each waits at most its deadline (`cluster.hold_timeout`,
/// `timeouts.queue`) and its timer ends it there.
///
/// The lists themselves live on each ``ListenerRuntime`` (`held`, `queued`); this type keeps the
/// rules and the cross-loop counts (`cluster.hold_max` is a limit over every loop). Loop-confined.
final class WaitingRoom {
    private let loop: EventLoop
    private let shared: SharedCounters
    /// Sessions that may be held at once, over every loop.
    private var holdMax: Int
    /// How long a session may be held.
    private var holdTimeout: Duration

    init(loop: EventLoop, shared: SharedCounters, cluster: ClusterConfiguration?) {
        self.loop = loop
        self.shared = shared
        holdMax = cluster?.holdMax ?? 1000
        holdTimeout = cluster?.holdTimeout ?? .seconds(30)
    }

    /// A reloaded configuration's limits apply to sessions held from now on.
    func apply(_ cluster: ClusterConfiguration?) {
        holdMax = cluster?.holdMax ?? 1000
        holdTimeout = cluster?.holdTimeout ?? .seconds(30)
    }

    /// Puts a session on hold until the listener's route changes (at most `cluster.hold_max` at once,
    /// at most `cluster.hold_timeout` long, counted from its first hold).
    func hold(_ session: Session, reason: String) {
        session.lastWait = .hold
        if shared.held.add(1, ordering: .relaxed).newValue > holdMax {
            shared.held.subtract(1, ordering: .relaxed)
            session.end(.noBackend("\(reason); hold queue full (\(holdMax))"))
            return
        }
        if session.waitDeadline == 0 {
            session.waitDeadline = loop.now &+ holdTimeout.nanoseconds
            session.listener.counters.heldTotal += 1
        }
        session.waitReason = "\(reason), held \(holdTimeout.humanReadable)"
        session.listener.held.append(session)
        session.armTimer(session.waitDeadline)
    }

    /// Queues a session until a server of its listener has a free slot (up to `timeouts.queue`).
    func enqueue(_ session: Session) {
        let listener = session.listener
        session.lastWait = .queue
        if listener.queued.count >= listener.configuration.queueMax {
            session.end(.noBackend("every server of \(listener.name) is at server_maxconn and the queue is full"))
            return
        }
        listener.queued.append(session)
        listener.shared.queued.add(1, ordering: .relaxed)
        if session.waitDeadline == 0 { session.waitDeadline = loop.now &+ session.timeoutSettings.queue }
        session.waitReason = "every server of \(listener.name) is at server_maxconn (queued \(session.timeouts.queue.humanReadable))"
        session.armTimer(session.waitDeadline)
    }

    /// Takes a session off its listener's hold and queue lists (it ends, refuses, cancels or retries).
    func leave(_ session: Session) {
        let listener = session.listener
        if let index = listener.held.firstIndex(where: { $0 === session }) {
            listener.held.remove(at: index)
            shared.held.subtract(1, ordering: .relaxed)
        }
        if let index = listener.queued.firstIndex(where: { $0 === session }) {
            listener.queued.remove(at: index)
            listener.shared.queued.subtract(1, ordering: .relaxed)
        }
    }

    /// The listener's route changed to one that decides (ready or unavailable): every held session
    /// picks again.
    func releaseHeld(of listener: ListenerRuntime) {
        let waiting = listener.held
        listener.held.removeAll()
        shared.held.subtract(waiting.count, ordering: .relaxed)
        for session in waiting { session.resume() }
    }

    /// Lets queued sessions of `listener` try again (a server slot may be free).
    func retryQueued(of listener: ListenerRuntime) {
        let waiting = listener.queued
        listener.queued.removeAll()
        listener.shared.queued.subtract(waiting.count, ordering: .relaxed)
        for session in waiting { session.resume() }
    }

    /// Ends every waiting session of `listener` (it is removed, or the process drains): they have
    /// nothing to finish.
    func endAll(of listener: ListenerRuntime) {
        for session in listener.held + listener.queued { session.end(.shutdown) }
    }
}
