#!/usr/bin/env python3
"""deploy/run-local.sh end to end: with one command it starts two glaserve replicas and
nginx on loopback at the ports given, prints where each listens, answers gRPC health
through nginx and Prometheus text on the metrics ports; SIGTERM or Ctrl-C (SIGINT) stops
every process it started and it exits 0; a bad argument fails at once.

Usage: run_local_test.py --glaserve build/bin/glaserve
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_LOCAL = os.path.join(SOURCE_DIR, "deploy", "run-local.sh")
GLASERVE = None  # set from the command line


def free_ports(n):
    """n loopback TCP ports that were free a moment ago."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def accepts(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by a parent that is itself gone) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def health(address):
    result = subprocess.run([GLASERVE, "health", "--addr", address, "--timeout", "2"],
                            capture_output=True, text=True, timeout=10)
    return result.returncode, result.stdout.strip()


class RunLocalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="run_local_test_")
        cls.model = os.path.join(cls.tmp.name, "model")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "scripts", "make_random_checkpoint.py"),
                        "--out", cls.model, "--hidden-size", "64", "--num-layers", "2", "--num-heads", "2",
                        "--vocab-size", "256", "--seed", "3"], check=True, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def start(self, *extra):
        port, r1, r2, m1, m2 = free_ports(5)
        command = [RUN_LOCAL, "--model", self.model, "--port", str(port), "--replica-ports", f"{r1},{r2}",
                   "--metrics-ports", f"{m1},{m2}", "--glaserve", GLASERVE, *extra]
        # SIGINT back to its default in the child, as in a terminal (a shell starting a
        # background job would ignore it, and bash cannot trap a signal ignored at entry).
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ready:"):
                break
        output = "".join(lines)
        self.addCleanup(self.kill_leftovers, process, output)
        self.assertIn("Ready:", output, process.stderr.read() if process.poll() is not None else output)
        return process, output, (port, r1, r2, m1, m2)

    def kill_leftovers(self, process, output):
        if process.poll() is None:
            process.kill()
        process.communicate()
        for pid in map(int, re.findall(r"pid (\d+)", output)):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def check_serving_then_stop(self, stop_signal):
        process, output, (port, r1, r2, m1, m2) = self.start("--", "--max-seqs", "2")
        # Where each one listens is printed.
        for text in (f"grpc 127.0.0.1:{r1}", f"grpc 127.0.0.1:{r2}", f"http://127.0.0.1:{m1}/metrics",
                     f"http://127.0.0.1:{m2}/metrics", f"grpc 127.0.0.1:{port}"):
            self.assertIn(text, output)
        pids = [int(p) for p in re.findall(r"pid (\d+)", output)]
        self.assertEqual(len(pids), 3, output)
        # Each replica serves, and nginx passes a gRPC call (the health check) through.
        for address in (f"127.0.0.1:{r1}", f"127.0.0.1:{r2}", f"127.0.0.1:{port}"):
            self.assertEqual(health(address), (0, "SERVING"), address)
        for metrics_port in (m1, m2):
            body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
            self.assertRegex(body, r"(?m)^glaserve_\w+")

        process.send_signal(stop_signal)
        self.assertEqual(process.wait(timeout=60), 0, process.stderr.read())
        for pid in pids:
            self.assertFalse(alive(pid), f"pid {pid} still runs after run-local.sh stopped")
        for p in (port, r1, r2, m1, m2):
            self.assertFalse(accepts(p), f"port {p} still accepts connections")
        # The temporary folder with the generated nginx config is removed.
        run_dir = re.search(r"log (\S+)/glaserve-1\.log", output).group(1)
        self.assertFalse(os.path.exists(run_dir), run_dir)

    def test_sigterm_stops_everything(self):
        self.check_serving_then_stop(signal.SIGTERM)

    def test_ctrl_c_stops_everything(self):
        self.check_serving_then_stop(signal.SIGINT)

    def test_a_replica_that_cannot_start_fails_the_command(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        port, r2, m1, m2 = free_ports(4)
        result = subprocess.run([RUN_LOCAL, "--model", self.model, "--port", str(port), "--replica-ports",
                                 f"{busy.getsockname()[1]},{r2}", "--metrics-ports", f"{m1},{m2}",
                                 "--glaserve", GLASERVE, "--", "--max-seqs", "2"], capture_output=True, text=True,
                                timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("exited", result.stderr)
        # It keeps the logs for the user to read, and says where.
        run_dir = re.search(r"logs are in (\S+)", result.stderr).group(1)
        self.assertTrue(os.path.exists(os.path.join(run_dir, "glaserve-1.log")))
        shutil.rmtree(run_dir)
        for p in (port, r2, m1, m2):
            self.assertFalse(accepts(p), f"port {p} still accepts connections")

    def test_bad_arguments_fail_at_once(self):
        for args in (["--port", "8080"], ["--model", self.model, "--replica-ports", "1"],
                     ["--model", "/nonexistent"], ["--model", self.model, "--port", "x"]):
            result = subprocess.run([RUN_LOCAL, *args, "--glaserve", GLASERVE], capture_output=True, text=True,
                                    timeout=10)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn("run-local:", result.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--glaserve", required=True)
    args, rest = parser.parse_known_args()
    GLASERVE = os.path.abspath(args.glaserve)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
