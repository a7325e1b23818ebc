// Windows stand-in for <termios.h>: only ECHO, mapped to the console's ENABLE_ECHO_INPUT, so that
// a passphrase prompt does not echo (cmake/windows/compat).
#pragma once
typedef unsigned int tcflag_t;
struct termios {
    tcflag_t c_lflag;
};
#define ECHO 0x8
#define TCSANOW 0
#define TCSAFLUSH 2
#ifdef __cplusplus
extern "C" {
#endif
int tcgetattr(int fd, struct termios* t);
int tcsetattr(int fd, int action, const struct termios* t);
#ifdef __cplusplus
}
#endif
