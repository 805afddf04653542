import Glibc
import PosixIO
import Testing

/// `Socket.close` treats EBADF as the bug it is (swift-nio does the same).
struct DescriptorCloseTests {
    @Test func closingADescriptorTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            Socket.close(fd)
            Socket.close(fd)
        }
    }

    @Test func closingAnOpenDescriptorOnceDoesNotTrap() async {
        await #expect(processExitsWith: .success) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            Socket.close(fd)
        }
    }
}
