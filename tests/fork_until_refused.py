# Run inside a sandbox (--lang python --file): forks children that sleep
# until a fork is refused, then prints the errno's name and how many forks
# succeeded ("EAGAIN 18"). The limit suites check the process-count limit
# with it.
import errno
import os
import time

n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(300)
            os._exit(0)
        n += 1
except OSError as e:
    print(errno.errorcode[e.errno], n)
