// PosixIO
