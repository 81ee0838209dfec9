"""Hold the catalog lock ARGV[1] as a stuck run would: flock it, say who holds it, wait until ARGV[3] exists.

Writes its pid to ARGV[2] once it holds the lock.
"""
import fcntl
import json
import os
import socket
import sys
import time

lock, ready, release = sys.argv[1:4]
fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, json.dumps({'pid': os.getpid(), 'host': socket.gethostname(), 'module': 'stuck-test-process',
                         'since': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}).encode())
with open(ready + '.tmp', 'w') as fileobj:
    fileobj.write(str(os.getpid()))
os.rename(ready + '.tmp', ready)
while not os.path.exists(release):  # waits for a file the test creates, not for a time
    time.sleep(0.05)
