import NIOCore

/// A Swift concurrency task executor that runs jobs on one NIO event loop.
///
/// The SQLite writer's batches run with this as their executor preference, on the writer connection's own event
/// loop: each statement's result resumes the batch on that thread at once, instead of queueing behind every HTTP
/// request's work on the global executor between two statements of one transaction.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
