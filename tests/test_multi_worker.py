"""Multi-worker training with real worker processes: two `experiments/train.py --strategy=multi_worker` on loopback.

The commands are the user's (docs/multi-worker.md), each worker with its own
TF_CONFIG, on a tiny prepared set whose training split has three shards
(two workers: what FILE sharding refused). UNet and GAN train one epoch;
the WGAN run is killed mid-run (its worker 1, SIGKILL) and both commands
are rerun, which must resume it. Each run is compared with the same
train.py run on one process with two replicas (tests/mirrored_runs.py):
same global batch, same replica ids, so the same dropout masks and phase
shifts. The kill and resume is checked on one model only: restoring is one
code path for all three (the checkpoint files hold every network and
optimizer), and the WGAN, with two optimizers and n_critic, has the most
state to bring back.
"""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from audiosr.data import prepare

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = ("unet", "gan", "wgan")
EPOCHS = {"unet": 1, "gan": 1, "wgan": 3}
# Train 16 clips in 3 shards: two global batches of 8 an epoch; val 10 clips: one whole batch.
COMMON = ["--dataset=synthetic", "--preset=tiny", "--batch_size=8", "--n_critic=2", "--discriminator_filters=4",
          "--verbose=2"]
TIMEOUT = 600


def free_ports(count):
    """``count`` distinct loopback ports that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def flag_line(model, data, logdir, epochs=None):
    return [f"--model={model}", f"--epochs={epochs or EPOCHS[model]}", f"--data_dir={data}", f"--logdir={logdir}",
            *COMMON]


class Workers:
    """The two worker processes of one multi-worker run, started as a user starts them."""

    def __init__(self, name, folder, ports, flags):
        self.name, self.folder, self.ports, self.flags = name, folder, ports, flags
        self.tmp = [folder / f"{name}-tmp-{i}" for i in range(2)]  # each worker's TMPDIR: where its scratch folder goes
        self.processes, self.logs, self.session, self.chief_pids = [], [], 0, []

    def start(self):
        self.session += 1
        cluster = {"worker": [f"127.0.0.1:{port}" for port in self.ports]}
        self.processes, self.logs = [], []
        for index in range(2):
            self.tmp[index].mkdir(exist_ok=True)
            log = self.folder / f"{self.name}-worker{index}-session{self.session}.log"
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(self.tmp[index]),
                   "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
            with open(log, "w") as handle:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "experiments/train.py", "--strategy=multi_worker", *self.flags],
                    cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT))
            self.logs.append(log)
        self.chief_pids.append(self.processes[0].pid)

    def wait(self, timeout=TIMEOUT):
        codes = [process.wait(timeout=timeout) for process in self.processes]
        return codes, [log.read_text() for log in self.logs]


def epoch_logs(output):
    """[{metric: value as printed}] of each epoch line Keras prints with --verbose=2."""
    return [dict(re.findall(r"(\w+): (\S+)", line))
            for line in re.findall(r"^\d+/\d+ - \S+ - \S+/step - (.*)$", output, flags=re.M)]


def as_printed(value):
    """``value`` as Keras' progress bar prints it at --verbose=2."""
    return f"{value:.4f}" if value > 1e-3 else f"{value:.4e}"


def checkpoint_arrays(run_dir):
    """{name: array} of every weight and optimizer variable in the run's last checkpoint."""
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    arrays = {}
    with h5py.File(run_dir / "checkpoints" / state["weights"], "r") as handle:
        handle.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                          if isinstance(item, h5py.Dataset) else None)
    return state, arrays


def run_name(model):
    return f"synthetic-r2-{model}-tiny-s0"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every run of this module: two-worker runs of the three models (the WGAN killed once), and the references."""
    folder = tmp_path_factory.mktemp("multi_worker")
    data = folder / "data"
    prepare.prepare_synthetic(data, num_clips=16, utterance_seconds=1.0, val_fraction=0.4, test_fraction=0.1,
                              clip_seconds=0.128, ratios=(2,), num_workers=0, shard_size=6, progress=False)
    with open(folder / "reference.log", "w") as log:
        reference = subprocess.Popen([sys.executable, str(ROOT / "tests" / "mirrored_runs.py")], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    started = []
    try:
        for model in ("unet", "gan"):  # trained beside the two-worker runs
            reference.stdin.write(" ".join(flag_line(model, data, folder / "reference")) + "\n")
        reference.stdin.flush()
        result = {"folder": folder}
        for model in MODELS:
            workers = Workers(model, folder, free_ports(2), flag_line(model, data, folder / "runs"))
            started.append(workers)
            workers.start()
            result[model] = {"workers": workers, "sessions": []}
            if model == "wgan":
                result[model]["killed"] = kill_worker_1_after_an_epoch(workers, folder / "runs" / run_name(model))
                result[model]["sessions"].append(workers.wait())  # the chief must stop by itself
                workers.start()  # the same two commands again
            result[model]["sessions"].append(workers.wait())

        resumed_after = re.search(r"resumed \S+ after epoch (\d+)", result["wgan"]["sessions"][-1][1][0])
        result["wgan"]["resumed_after"] = int(resumed_after.group(1)) if resumed_after else None
        if resumed_after:  # the reference stops where the killed run's checkpoint stood, then resumes
            for epochs in (int(resumed_after.group(1)), EPOCHS["wgan"]):
                reference.stdin.write(" ".join(flag_line("wgan", data, folder / "reference", epochs)) + "\n")
        reference.stdin.close()
        assert reference.wait(timeout=TIMEOUT) == 0, (folder / "reference.log").read_text()[-3000:]
        return result
    finally:  # nothing outlives the module, whatever failed
        for process in [reference, *(p for workers in started for p in workers.processes)]:
            if process.poll() is None:
                process.kill()
                process.wait()


def kill_worker_1_after_an_epoch(workers, run_dir):
    """SIGKILL worker 1 as soon as the chief and worker 1 have both checkpointed an epoch (each writes its own
    copy, a moment apart); what worker 1's temporary folder held then."""
    state_path = run_dir / "checkpoints" / "state.json"
    started = time.monotonic()
    while not (state_path.is_file() and json.loads(state_path.read_text())["epoch"] >= 1
               and any(workers.tmp[1].glob("audiosr-*/checkpoints/state.json"))):
        assert workers.processes[1].poll() is None, "worker 1 ended before the first epoch"
        assert time.monotonic() - started < TIMEOUT, "no checkpoint in time"
        time.sleep(0.05)
    workers.processes[1].send_signal(signal.SIGKILL)
    return {"state_at_kill": json.loads(state_path.read_text())["epoch"],
            "scratch_after_kill": [p.relative_to(workers.tmp[1]).as_posix()
                                   for p in sorted(workers.tmp[1].glob("audiosr-*/**/*"))]}


@pytest.mark.parametrize("model", MODELS)
def test_two_workers_train_as_one_process_with_two_replicas(runs, model):
    codes, outputs = runs[model]["sessions"][-1]
    assert codes == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    chief, worker = (epoch_logs(output) for output in outputs)
    epochs_run = EPOCHS[model] - (runs[model].get("resumed_after") or 0)
    assert len(chief) == epochs_run and chief == worker  # every loss term, as each worker printed it
    header, *rows = (runs["folder"] / "runs" / run_name(model) / "history.csv").read_text().splitlines()
    for row, printed in zip(rows[-epochs_run:], chief):  # the chief's history.csv holds what both printed
        logged = dict(zip(header.split(","), row.split(",")))
        assert {name: as_printed(float(logged[name])) for name in printed} == printed

    state, weights = checkpoint_arrays(runs["folder"] / "runs" / run_name(model))
    reference_state, reference = checkpoint_arrays(runs["folder"] / "reference" / run_name(model))
    assert state["epoch"] == reference_state["epoch"] == EPOCHS[model]
    assert weights.keys() == reference.keys() and any(k.startswith("optimizer/") for k in weights)
    difference = max(float(np.max(np.abs(weights[k].astype(float) - reference[k].astype(float)))) for k in weights)
    # Measured: 0.0. The workers' gradients meet in an all-reduce of two replicas, as the two replicas' do in
    # the reference, and a sum of two floats does not depend on its order. Anything else -- a worker on other
    # clips, another dropout mask, a lost step -- moves Adam's weights by about the learning rate (1e-4).
    assert difference <= 1e-6, difference


@pytest.mark.parametrize("model", MODELS)
def test_only_the_chief_writes_the_run_folder(runs, model):
    workers = runs[model]["workers"]
    run_dir = runs["folder"] / "runs" / run_name(model)
    assert sorted(p.name for p in (runs["folder"] / "runs").iterdir()) == sorted(run_name(m) for m in MODELS
                                                                                 if m in runs)
    assert {"flags.txt", "best.keras", "history.csv", "checkpoints", "tensorboard"} == {p.name for p in
                                                                                        run_dir.iterdir()}
    events = list(run_dir.glob("tensorboard/**/events.out.tfevents.*"))
    # TensorBoard names its files events.out.tfevents.<time>.<host>.<pid>.<n>.v2
    writers = {int(re.search(r"\.(\d+)\.\d+\.v2$", path.name).group(1)) for path in events}
    assert events and writers <= set(workers.chief_pids), (writers, workers.chief_pids)
    assert not list(workers.tmp[1].glob("audiosr-*"))  # worker 1's scratch folder is gone


def test_a_killed_worker_and_every_command_rerun_resume_the_run(runs):
    wgan = runs["wgan"]
    (first_codes, first_outputs), (codes, outputs) = wgan["sessions"]
    assert first_codes[0] != 0  # the chief stopped on its own when worker 1 died
    killed = wgan["killed"]
    # worker 1 wrote its copy of the run, checkpoint included, into its own temporary folder
    assert any(path.endswith("checkpoints/state.json") for path in killed["scratch_after_kill"]), killed
    k = wgan["resumed_after"]
    assert k is not None and killed["state_at_kill"] <= k < EPOCHS["wgan"], (k, outputs[0][-2000:])
    assert re.search(rf"resumed {re.escape(str(wgan['workers'].tmp[1]))}\S* after epoch {k}\b", outputs[1])
    assert re.findall(r"^Epoch (\d+)/", outputs[0], flags=re.M)[0] == str(k + 1)  # not epoch 1 again
    history = (runs["folder"] / "runs" / run_name("wgan") / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == [str(e) for e in range(EPOCHS["wgan"])]
