import CShims

/// The C allocator's free memory.
public enum FreeMemory {
    /// Returns the allocator's free pages, in every arena, to the kernel (`malloc_trim(0)`). glibc
    /// gives back on its own only what lies at the top of the main heap, so memory freed inside a
    /// heap after a burst of allocations stays resident. It walks every arena under its locks: a call
    /// for after a burst, not for a hot path.
    public static func release() {
        switchman_release_free_memory()
    }
}
