#!/usr/bin/env python3
"""The deployment files checked by what can run here (no Docker engine, no cluster): the
YAML parses; every flag, port, path and metric name in the Dockerfile, compose.yaml,
k8s/ and prometheus/ is one the server really has (read from `glaserve serve --helpfull`
and from a live server's /metrics); the Dockerfile builds with CI's scripts and copies
every folder the build needs; Prometheus accepts the configs (promtool); the shell scripts
pass bash -n and shellcheck; runtime-packages.sh finds the packages of the built binary.

Usage: deploy_files_test.py --glaserve build/bin/glaserve
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
GLASERVE = None  # set from the command line


def read(*path):
    with open(os.path.join(SOURCE_DIR, *path)) as f:
        return f.read()


def load_yaml(*path):
    return [doc for doc in yaml.safe_load_all(read(*path)) if doc is not None]


def serve_flags():
    """{flag name with dashes: default} of `glaserve serve` (its own and the model flags)."""
    result = subprocess.run([GLASERVE, "serve", "--helpfull"], capture_output=True, text=True, timeout=30)
    sections = re.split(r"\n  Flags from ", result.stdout + result.stderr)
    flags = {}
    for section in sections:
        if re.match(r"\S*(serve_command|model_flags)\.cc:", section):
            for name, default in re.findall(r"--(\w+) \(.*?\);\s+default: (.*?);", section, re.S):
                flags[name.replace("_", "-")] = default.strip('"')
    assert "port" in flags and "metrics-port" in flags, result.stdout + result.stderr
    return flags


def parse_args(args):
    """["--a", "1", "--b=2", "--c"] -> {"a": "1", "b": "2", "c": None}."""
    parsed, i = {}, 0
    while i < len(args):
        arg = args[i]
        assert arg.startswith("--"), f"unexpected argument {arg!r} in {args}"
        if "=" in arg:
            name, value = arg[2:].split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            name, value = arg[2:], args[i + 1]
            i += 1
        else:
            name, value = arg[2:], None
        parsed[name.replace("_", "-")] = value
        i += 1
    return parsed


def dockerfile_instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
        current = ""
    return lines


class DeployFilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.flags = serve_flags()
        cls.default_port = int(cls.flags["port"])
        cls.default_metrics_port = int(cls.flags["metrics-port"])

    def check_serve_args(self, args, where):
        """The args of a `glaserve serve` command line: every flag exists; returns them."""
        self.assertEqual(args[0], "serve", where)
        parsed = parse_args(args[1:])
        for name in parsed:
            self.assertIn(name, self.flags, f"{where}: --{name} is not a flag of glaserve serve")
        return parsed

    # --- Dockerfile ---------------------------------------------------------------------

    def test_dockerfile(self):
        instructions = dockerfile_instructions(read("Dockerfile"))
        froms = [args for word, args in instructions if word == "FROM"]
        self.assertEqual(len(froms), 2, "a build stage and a runtime stage")
        self.assertRegex(froms[0], r"^nvidia/cuda:\$\{CUDA_VERSION\}-devel-ubuntu\$\{UBUNTU_VERSION\} AS build$")
        self.assertRegex(froms[1], r"^nvidia/cuda:\$\{CUDA_VERSION\}-runtime-ubuntu\$\{UBUNTU_VERSION\}$")
        build_args = dict(args.split("=", 1) for word, args in instructions if word == "ARG")
        self.assertRegex(build_args["CUDA_VERSION"], r"^13\.")
        runs = [args for word, args in instructions if word == "RUN"]
        build_stage = instructions[:[i for i, (w, _) in enumerate(instructions) if w == "FROM"][1]]

        # CI's steps: README's test command installs with scripts/install-deps.sh and runs
        # scripts/test.sh, which builds with scripts/build.sh. The image does the same.
        readme = read("README.md")
        test_command = re.search(r"<!-- test-command -->\n```\n(.*?)\n```", readme, re.S).group(1)
        self.assertIn("scripts/install-deps.sh", test_command)
        self.assertIn("scripts/test.sh", test_command)
        self.assertIn("scripts/build.sh", read("scripts", "test.sh"))
        build_runs = [args for word, args in build_stage if word == "RUN"]
        self.assertTrue(any(r.startswith("scripts/install-deps.sh") for r in build_runs), build_runs)
        self.assertTrue(any(re.search(r"(^|\s)scripts/build\.sh -DGLASERVE_CUDA=ON", r) for r in build_runs),
                        build_runs)

        # Every folder the top CMakeLists.txt builds (tests aside) is copied into the build.
        top = read("CMakeLists.txt")
        folders = re.findall(r"^add_subdirectory\((\w+)\)", top.split("option(GLASERVE_BUILD_TESTS")[0], re.M)
        copied = [args.split()[0] for word, args in build_stage if word == "COPY" and "--from" not in args]
        for folder in folders + ["CMakeLists.txt", "scripts", "deploy/runtime-packages.sh"]:
            self.assertIn(folder, copied, f"the Dockerfile does not COPY {folder}")
        # Every executable copied from the build is a target of the build.
        cmake_sources = "".join(read(folder, "CMakeLists.txt") for folder in folders)
        for word, args in instructions:
            if word == "COPY" and args.startswith("--from=build"):
                for path in args.split()[1:-1]:
                    if "/build/bin/" in path:
                        name = os.path.basename(path)
                        self.assertRegex(cmake_sources, rf"add_executable\({re.escape(name)}\b")

        # Runtime stage: non-root user, ports, health check, model volume, stop signal.
        users = [args for word, args in instructions if word == "USER"]
        self.assertEqual(users, ["glaserve"])
        self.assertTrue(any("useradd" in r and "glaserve" in r for r in runs))
        expose = [int(p) for word, args in instructions if word == "EXPOSE" for p in args.split()]
        self.assertEqual(expose, [self.default_port, self.default_metrics_port],
                         "EXPOSE must be the server's default --port and --metrics-port")
        cmd = yaml.safe_load([args for word, args in instructions if word == "CMD"][-1])
        entrypoint = yaml.safe_load([args for word, args in instructions if word == "ENTRYPOINT"][-1])
        self.assertEqual(entrypoint, ["glaserve"])
        served = self.check_serve_args(cmd, "Dockerfile CMD")
        self.assertEqual(int(served["port"]), self.default_port)
        self.assertEqual(int(served["metrics-port"]), self.default_metrics_port)
        self.assertEqual(served["host"], "0.0.0.0")
        volumes = [args for word, args in instructions if word == "VOLUME"]
        self.assertEqual(volumes, [served["model"]])
        healthcheck = [args for word, args in instructions if word == "HEALTHCHECK"]
        self.assertEqual(len(healthcheck), 1)
        check = yaml.safe_load(healthcheck[0].split(" CMD ", 1)[1])
        self.assertEqual(check[:4], ["glaserve", "health", "--addr", f"127.0.0.1:{self.default_port}"])
        self.assertEqual([args for word, args in instructions if word == "STOPSIGNAL"], ["SIGTERM"])

    def test_runtime_packages_of_the_built_binary(self):
        result = subprocess.run([os.path.join(DEPLOY, "runtime-packages.sh"), GLASERVE], capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        packages = result.stdout.split()
        self.assertTrue(any(p.startswith("libgrpc++") for p in packages), packages)
        self.assertFalse(any(p.endswith("-dev") for p in packages), packages)
        for package in packages:
            status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
            self.assertEqual(status.stdout, "install ok installed", package)

    # --- compose and the balancers ------------------------------------------------------

    def test_compose(self):
        (compose,) = load_yaml("deploy", "compose.yaml")
        services = compose["services"]
        nginx_site = read("deploy", "nginx", "glaserve.conf")
        haproxy = read("deploy", "haproxy", "haproxy.cfg")
        prometheus = load_yaml("deploy", "prometheus", "prometheus.yml")[0]
        targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
        replicas = sorted(name for name in services if name.startswith("glaserve-"))
        self.assertEqual(replicas, ["glaserve-1", "glaserve-2"])
        for name in replicas:
            service = services[name]
            served = self.check_serve_args(service["command"], f"compose {name}")
            port, metrics_port = served["port"], served["metrics-port"]
            self.assertIn(f"server {name}:{port} ", nginx_site, "nginx upstream must match the replica's --port")
            self.assertIn(f"server {name} {name}:{port}", haproxy, "haproxy server must match the replica's --port")
            self.assertIn(f"{name}:{metrics_port}", targets, "Prometheus must scrape the replica's --metrics-port")
            self.assertEqual(served["host"], "0.0.0.0")
            self.assertTrue(any(v.endswith(f":{served['model']}:ro") for v in service["volumes"]))
            grace = int(service["stop_grace_period"].rstrip("s"))
            self.assertGreaterEqual(grace, float(served["drain-timeout"]) + 5, "stop_grace_period < drain + close")
            self.assertEqual(service["build"]["dockerfile"], "Dockerfile")
            self.assertTrue(os.path.exists(os.path.join(DEPLOY, service["build"]["context"], "Dockerfile")))
            self.assertEqual(service["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"], ["gpu"])
        nginx = services["nginx"]
        self.assertEqual({name: dep["condition"] for name, dep in nginx["depends_on"].items()},
                         {"glaserve-1": "service_healthy", "glaserve-2": "service_healthy"})
        listen = re.search(r"^\s*listen (\d+) http2;", nginx_site, re.M).group(1)
        self.assertTrue(nginx["ports"][0].endswith(f":{listen}"), nginx["ports"])
        image = read("deploy", "nginx", "Dockerfile")
        self.assertIn("COPY nginx.conf glaserve.conf /etc/glaserve-nginx/", image)
        self.assertIn('"-c", "/etc/glaserve-nginx/nginx.conf"', image)
        self.assertIn(f"EXPOSE {listen}", image)
        self.assertRegex(image, r"(?m)^USER glaserve-nginx$")
        mount = services["prometheus"]["volumes"][0].split(":")
        self.assertEqual(os.path.normpath(os.path.join(DEPLOY, mount[0])),
                         os.path.join(DEPLOY, "prometheus", "prometheus.yml"))

    def test_nginx_config_settings(self):
        site = read("deploy", "nginx", "glaserve.conf")
        self.assertRegex(site, r"(?m)^\s*least_conn;")
        self.assertIn("grpc_pass grpc://glaserve;", site)
        # Retry before any answer (a draining replica may refuse a stream it accepted), but
        # never on an HTTP status: no http_5xx, which would resend answered calls.
        self.assertRegex(site, r"(?m)^\s*grpc_next_upstream error timeout non_idempotent;")
        self.assertNotRegex(site, r"(?m)^\s*keepalive \d+;", "upstream keepalive would reuse connections")
        self.assertRegex(site, r"(?m)^\s*grpc_read_timeout 1h;")

    # --- Kubernetes ---------------------------------------------------------------------

    def test_kubernetes(self):
        kustomization = load_yaml("deploy", "k8s", "kustomization.yaml")[0]
        objects = [obj for f in kustomization["resources"] for obj in load_yaml("deploy", "k8s", f)]
        by_kind = {}
        for obj in objects:
            by_kind.setdefault(obj["kind"], []).append(obj)
        (deployment,) = by_kind["Deployment"]
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        self.assertEqual(deployment["spec"]["selector"]["matchLabels"], labels)
        (container,) = pod["spec"]["containers"]
        served = self.check_serve_args(container["args"], "k8s Deployment args")
        port, metrics_port = int(served["port"]), int(served["metrics-port"])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(ports, {"grpc": port, "metrics": metrics_port})
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertEqual(container[probe]["grpc"]["port"], port, probe)
        annotations = pod["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(int(annotations["prometheus.io/port"]), metrics_port)
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        self.assertEqual(container["resources"]["limits"]["nvidia.com/gpu"], 1)
        # The grace period covers preStop, the drain and the server's final close (5 s).
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(pre_stop[0], "sleep")
        self.assertGreaterEqual(pod["spec"]["terminationGracePeriodSeconds"],
                                int(pre_stop[1]) + float(served["drain-timeout"]) + 5)
        (mount,) = container["volumeMounts"]
        self.assertEqual((mount["mountPath"], mount["readOnly"]), (served["model"], True))
        self.assertIn(mount["name"], [v["name"] for v in pod["spec"]["volumes"]])
        self.assertTrue(pod["spec"]["securityContext"]["runAsNonRoot"])
        self.assertEqual(pod["spec"]["securityContext"]["runAsUser"], 10001)
        self.assertIn("--uid 10001", read("Dockerfile"))

        services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
        self.assertEqual(services["glaserve-headless"]["spec"]["clusterIP"], "None")
        for service in services.values():
            self.assertEqual(service["spec"]["selector"], labels)
            for p in service["spec"]["ports"]:
                self.assertIn(p["targetPort"], ports, "a Service targets a port the container does not name")
        (ingress,) = by_kind["Ingress"]
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        self.assertIn(backend["name"], services)
        self.assertIn(backend["port"]["name"], [p["name"] for p in services[backend["name"]]["spec"]["ports"]])
        self.assertEqual(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"], "GRPC")

        (hpa,) = by_kind["HorizontalPodAutoscaler"]
        self.assertEqual(hpa["spec"]["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment",
                                                         "name": deployment["metadata"]["name"]})
        (metric,) = hpa["spec"]["metrics"]
        self.assertEqual(metric["pods"]["metric"]["name"], "glaserve_requests_waiting")
        (pdb,) = by_kind["PodDisruptionBudget"]
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"], labels)

        adapter = load_yaml("deploy", "k8s", "prometheus-adapter-rules.yaml")[0]
        (rule,) = yaml.safe_load(adapter["data"]["config.yaml"])["rules"]
        self.assertTrue(rule["seriesQuery"].startswith("glaserve_requests_waiting{"))
        self.assertEqual(rule["name"]["as"], metric["pods"]["metric"]["name"])

    def test_metric_names_are_served(self):
        """The HPA's metric exists on a live server, as a gauge."""
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "scripts", "make_random_checkpoint.py"),
                            "--out", tmp, "--hidden-size", "32", "--num-layers", "1", "--num-heads", "1",
                            "--vocab-size", "64", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
            with subprocess.Popen([GLASERVE, "serve", "--model", tmp, "--host", "127.0.0.1", "--port", "0",
                                   "--metrics-port", "0", "--max-seqs", "1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
                try:
                    metrics_port = None
                    deadline = time.time() + 30
                    while time.time() < deadline and metrics_port is None:
                        line = server.stdout.readline()
                        if not line:
                            break
                        match = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", line)
                        metrics_port = match and match.group(1)
                    if metrics_port is None:
                        server.kill()
                        self.fail(f"glaserve serve did not start: {server.communicate()[1]}")
                    url = f"http://127.0.0.1:{metrics_port}/metrics"
                    body = urllib.request.urlopen(url, timeout=5).read().decode()
                finally:
                    server.kill()
                    server.communicate()
        self.assertIn("# TYPE glaserve_requests_waiting gauge", body)

    # --- Prometheus ---------------------------------------------------------------------

    def promtool_check(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            f.write(text)
            f.flush()
            result = subprocess.run(["promtool", "check", "config", f.name], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_prometheus_configs(self):
        self.promtool_check(read("deploy", "prometheus", "prometheus.yml"))
        # Debian's Prometheus is built without Kubernetes discovery: check the rest of the
        # cluster config with a static target in its place.
        cluster = read("deploy", "prometheus", "kubernetes.yml")
        self.assertIn("kubernetes_sd_configs:\n      - role: pod\n", cluster)
        self.promtool_check(cluster.replace("kubernetes_sd_configs:\n      - role: pod\n",
                                            "static_configs:\n      - targets: ['10.0.0.5:50051']\n"))
        # The address rewrite sends the scrape to the annotated port.
        (job,) = yaml.safe_load(cluster)["scrape_configs"]
        (rewrite,) = [r for r in job["relabel_configs"] if r.get("target_label") == "__address__"]
        match = re.fullmatch(rewrite["regex"], "10.0.0.5:50051;9400")
        self.assertEqual(re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))), rewrite["replacement"]),
                         "10.0.0.5:9400")
        self.assertEqual({r.get("target_label") for r in job["relabel_configs"]} >= {"namespace", "pod"}, True)

    # --- shell scripts ------------------------------------------------------------------

    def test_shell_scripts(self):
        scripts = [os.path.join(DEPLOY, name) for name in sorted(os.listdir(DEPLOY)) if name.endswith(".sh")]
        self.assertEqual([os.path.basename(s) for s in scripts], ["run-local.sh", "runtime-packages.sh"])
        for script in scripts:
            self.assertTrue(os.access(script, os.X_OK), f"{script} is not executable")
            result = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            result = subprocess.run(["shellcheck", script], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--glaserve", required=True)
    args, rest = parser.parse_known_args()
    GLASERVE = os.path.abspath(args.glaserve)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
