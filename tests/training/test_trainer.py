from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from toy_models import Regression

from timevqvdm.training import CheckpointError, TrainConfig, Trainer, cosine_schedule
from timevqvdm.training.checkpoint import load_tensors, read_metadata, save_json, save_tensors

SCRIPT = Path(__file__).with_name("toy_train_script.py")


class NoisyRegression(Regression):
    """Draws from the in-step generator, so the weights depend on its stream."""

    def training_loss(self, batch, generator):
        noise = torch.randn(batch["y"].shape, generator=generator)
        loss = ((self.lin(batch["x"]).squeeze(-1) - batch["y"] - noise) ** 2).mean()
        return loss, {"mse": loss.item()}


def _data(n=96):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 3, generator=g)
    return {"x": x, "y": x @ torch.tensor([2.0, -1.0, 0.5])}


def _cfg(**kw):
    base = dict(max_steps=60, batch_size=32, lr=0.2, accelerator="cpu", checkpoint_every=20, log_every=10)
    base.update(kw)
    return TrainConfig(**base)


def test_trainer_learns_and_writes_metrics(tmp_path):
    torch.manual_seed(0)
    model = Regression()
    result = Trainer(model, _cfg(), tmp_path, progress=False).fit(_data())
    assert result.steps == 60
    assert result.final_loss < 0.05
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [10, 20, 30, 40, 50, 60]
    assert lines[-1]["loss"] < lines[0]["loss"]
    assert not model.training  # handed back in eval mode


def test_the_trainer_takes_a_loss_function_for_a_module_without_training_loss():
    torch.manual_seed(0)
    network = torch.nn.Linear(3, 1)  # a bare network: no training_loss of its own
    seen = []

    def absolute_error(module, batch, generator):
        seen.append(isinstance(generator, torch.Generator))
        loss = (module(batch["x"]).squeeze(-1) - batch["y"]).abs().mean()
        return loss, {"mae": loss.item()}

    result = Trainer(network, _cfg(max_steps=200), progress=False, loss=absolute_error).fit(_data())
    assert len(seen) == 200 and all(seen)
    assert result.final_loss < 0.1
    assert torch.allclose(network.weight, torch.tensor([[2.0, -1.0, 0.5]]), atol=0.1)


def test_epochs_count_batches_and_cosine_reaches_zero():
    model = Regression()
    trainer = Trainer(model, _cfg(max_steps=None, epochs=3, batch_size=32), None, progress=False)
    result = trainer.fit(_data(96))
    assert result.steps == 9  # 3 batches of 32 per epoch
    f = cosine_schedule(100)
    assert f(0) == pytest.approx(1.0) and f(50) == pytest.approx(0.5) and f(100) == pytest.approx(0.0)


def test_checkpoint_is_safetensors_and_refuses_silent_overwrite(tmp_path):
    Trainer(Regression(), _cfg(), tmp_path, progress=False).fit(_data())
    state = load_tensors(tmp_path / "checkpoint.safetensors")
    assert "model.lin.weight" in state and any(k.startswith("optim.") for k in state)
    with pytest.raises(CheckpointError, match="already exists"):
        Trainer(Regression(), _cfg(), tmp_path, progress=False).fit(_data())


def test_resume_continues_from_checkpoint(tmp_path):
    torch.manual_seed(0)
    Trainer(Regression(), _cfg(max_steps=20), tmp_path, progress=False).fit(_data())
    result = Trainer(Regression(), _cfg(max_steps=60), tmp_path, progress=False).fit(_data(), resume=True)
    assert result.resumed_from == 20 and result.steps == 60
    assert result.final_loss < 0.05


def test_a_checkpoint_from_another_device_type_resumes_deterministically(tmp_path, caplog):
    """A GPU-trained run finished on a CPU: the CUDA generator state (16 bytes: seed, offset) cannot be
    set on a CPU generator, so the in-step stream is reseeded from the seed and step, with a warning."""
    torch.manual_seed(0)
    Trainer(NoisyRegression(), _cfg(max_steps=20), tmp_path, progress=False).fit(_data())
    path = tmp_path / "checkpoint.safetensors"
    tensors, meta = load_tensors(path), read_metadata(path)
    tensors["rng.step"] = torch.arange(16, dtype=torch.uint8)  # the shape of a CUDA generator's state
    save_tensors(path, tensors, metadata=meta)
    original = path.read_bytes()

    def resume(run_dir):
        torch.manual_seed(1)
        model = NoisyRegression()
        result = Trainer(model, _cfg(max_steps=40), run_dir, progress=False).fit(_data(), resume=True)
        return result, model.lin.weight.detach().clone()

    with caplog.at_level("WARNING"):
        first, weights = resume(tmp_path)
    assert first.resumed_from == 20 and first.steps == 40
    assert "another device type" in caplog.text and "checkpoint.safetensors" in caplog.text
    again = tmp_path / "again"
    again.mkdir()
    (again / "checkpoint.safetensors").write_bytes(original)
    assert torch.equal(resume(again)[1], weights)


def test_truncated_checkpoint_names_the_file(tmp_path):
    Trainer(Regression(), _cfg(max_steps=20), tmp_path, progress=False).fit(_data())
    path = tmp_path / "checkpoint.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"checkpoint\.safetensors"):
        Trainer(Regression(), _cfg(), tmp_path, progress=False).fit(_data(), resume=True)


def test_ema_weights_are_handed_back():
    torch.manual_seed(0)
    model = Regression()
    trainer = Trainer(model, _cfg(ema_decay=0.9), None, progress=False)
    trainer.fit(_data())
    # EMA weights lag the last optimiser step but still solve the problem.
    assert trainer.ema is not None
    assert torch.equal(model.lin.weight, trainer.ema["lin.weight"])
    assert torch.allclose(model.lin.weight, torch.tensor([[2.0, -1.0, 0.5]]), atol=0.1)


def _interrupt_at(step, signum=signal.SIGINT):
    """A trainer callback that sends this process `signum` once the run has logged `step`."""

    def callback(trainer, record):
        if record["step"] == step:
            os.kill(os.getpid(), signum)

    return callback


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt), even when the suite runs with SIGINT ignored, as a
    background job (`nohup make test &`) does: such a process inherits SIG_IGN, and the trainer keeps it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_saves_a_checkpoint_at_the_step_it_stopped_and_resume_continues(tmp_path, default_sigint):
    torch.manual_seed(0)
    handler_before = signal.getsignal(signal.SIGTERM)
    trainer = Trainer(
        Regression(), _cfg(checkpoint_every=1000, log_every=1), tmp_path, progress=False,
        callbacks=(_interrupt_at(7),),
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(_data())
    assert read_metadata(tmp_path / "checkpoint.safetensors")["step"] == "7"
    assert signal.getsignal(signal.SIGTERM) is handler_before
    result = Trainer(Regression(), _cfg(), tmp_path, progress=False).fit(_data(), resume=True)
    assert result.resumed_from == 7 and result.steps == 60


def test_an_ignored_sigint_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job
    try:
        cfg = _cfg(checkpoint_every=1000, log_every=1)
        result = Trainer(Regression(), cfg, tmp_path, progress=False, callbacks=(_interrupt_at(7),)).fit(
            _data()
        )
        assert result.steps == 60
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_background_run_ignores_sigint_and_finishes(tmp_path):
    """A process started with SIGINT ignored (a `&` job, nohup) trains on through a SIGINT."""
    run = tmp_path / "run"
    result_file = tmp_path / "result.json"
    proc = _run(
        [str(run), "--steps", "40", "--sleep", "0.02", "--result", str(result_file)],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    _wait_for_metrics(proc, run / "metrics.jsonl", 1)
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 0
    assert json.loads(result_file.read_text())["steps"] == 40


def test_resume_truncates_the_metrics_after_the_checkpoint(tmp_path):
    """Steps logged after the last checkpoint (then lost to a kill) are logged again, once, on resume."""
    Trainer(Regression(), _cfg(max_steps=20), tmp_path, progress=False).fit(_data())
    metrics = tmp_path / "metrics.jsonl"
    with open(metrics, "a") as handle:  # what a run killed at step 35 leaves, with its last line cut
        handle.write(json.dumps({"step": 30, "loss": 1.0}) + "\n" + '{"step": 3')
    Trainer(Regression(), _cfg(max_steps=60), tmp_path, progress=False).fit(_data(), resume=True)
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == [10, 20, 30, 40, 50, 60]


def test_a_fresh_run_drops_the_metrics_of_a_run_killed_before_its_first_checkpoint(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 10, "loss": 1.0}) + "\n")
    Trainer(Regression(), _cfg(max_steps=20), tmp_path, progress=False).fit(_data(), resume=True)
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20]


@pytest.mark.parametrize("minutes, saved", [(0.0, "6"), (None, None)])
def test_checkpoint_minutes_saves_between_scheduled_steps(tmp_path, minutes, saved):
    seen = {}

    def look(trainer, record):
        if record["step"] == 7:
            path = tmp_path / "checkpoint.safetensors"
            seen["step"] = read_metadata(path)["step"] if path.exists() else None

    cfg = _cfg(checkpoint_every=1000, log_every=1, checkpoint_minutes=minutes)
    Trainer(Regression(), cfg, tmp_path, progress=False, callbacks=(look,)).fit(_data())
    assert seen["step"] == saved


def test_resume_refuses_a_checkpoint_with_another_fingerprint(tmp_path):
    described = {"data": {"sha256": "aaa", "classes": ["1", "2"]}, "weights": {"lr": 0.2}}
    Trainer(Regression(), _cfg(max_steps=20), tmp_path, progress=False, fingerprint=described).fit(_data())
    other = {"data": {"sha256": "bbb", "classes": ["1", "2"]}, "weights": {"lr": 0.2}}
    with pytest.raises(CheckpointError, match=r"data\.sha256: 'aaa' saved, 'bbb' now"):
        Trainer(Regression(), _cfg(), tmp_path, progress=False, fingerprint=other).fit(_data(), resume=True)
    result = Trainer(Regression(), _cfg(), tmp_path, progress=False, fingerprint=described).fit(
        _data(), resume=True
    )
    assert result.resumed_from == 20


def test_files_are_written_with_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        save_tensors(tmp_path / "w.safetensors", {"a": torch.zeros(2)})
        save_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(previous)
    for name in ("w.safetensors", "m.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _run(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], env=env, **kw)


def _metrics_lines(metrics: Path) -> int:
    return len(metrics.read_text().splitlines()) if metrics.exists() else 0


def _wait_for_metrics(proc: subprocess.Popen, metrics: Path, lines: int, timeout: float = 600.0) -> None:
    """Block until the run has logged ``lines`` metrics lines; fail if it exits or ``timeout`` passes first.

    The deadline is generous because a loaded machine (a CI runner, a benchmark on the same cores) can take
    minutes to start Python and import torch; a signal sent before the run got going would test nothing.
    """
    deadline = time.time() + timeout
    while _metrics_lines(metrics) < lines:
        if proc.poll() is not None:
            pytest.fail(f"the run exited ({proc.returncode}) before logging {lines} metrics lines")
        if time.time() > deadline:
            proc.kill()
            pytest.fail(
                f"the run logged {_metrics_lines(metrics)} of {lines} metrics lines in {timeout:.0f} s"
            )
        time.sleep(0.05)


def test_kill_9_mid_run_then_resume_finishes(tmp_path):
    run = tmp_path / "run"
    proc = _run([str(run), "--steps", "40", "--sleep", "0.05"])
    ckpt = run / "checkpoint.safetensors"
    # Wait for the second checkpoint (step 10) so the kill lands after real progress.
    _wait_for_metrics(proc, run / "metrics.jsonl", 12)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert ckpt.exists()
    result_file = tmp_path / "result.json"
    proc = _run([str(run), "--steps", "40", "--resume", "--result", str(result_file)])
    assert proc.wait(timeout=120) == 0
    result = json.loads(result_file.read_text())
    assert result["steps"] == 40
    assert 10 <= result["resumed_from"] < 40


def test_two_process_ddp_on_cpu_trains_to_the_end(tmp_path):
    result_file = tmp_path / "result.json"
    proc = _run(
        [
            str(tmp_path / "run"),
            "--steps",
            "20",
            "--devices",
            "2",
            "--strategy",
            "ddp",
            "--result",
            str(result_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out.decode()[-2000:]
    result = json.loads(result_file.read_text())
    assert result["world"] == 2 and result["steps"] == 20
    assert result["loss"] < 0.25 * result["initial_loss"]


def test_two_process_ddp_trains_the_stage1_tokenizer(tmp_path):
    result_file = tmp_path / "result.json"
    args = [str(tmp_path / "run"), "--tokenizer", "--steps", "30", "--devices", "2", "--strategy", "ddp"]
    proc = _run([*args, "--result", str(result_file)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out.decode()[-2000:]
    result = json.loads(result_file.read_text())
    assert result["world"] == 2 and result["steps"] == 30
    assert result["loss"] < 0.5 * result["initial_loss"]
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_sigterm_mid_run_saves_a_checkpoint_then_terminates(tmp_path):
    """Scheduled saves are far apart (every 1000 steps); SIGTERM still leaves the run resumable where it was."""
    run = tmp_path / "run"
    proc = _run([str(run), "--steps", "60", "--sleep", "0.05", "--checkpoint-every", "1000"])
    metrics = run / "metrics.jsonl"
    _wait_for_metrics(proc, metrics, 8)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM
    saved = int(read_metadata(run / "checkpoint.safetensors")["step"])
    assert saved == json.loads(metrics.read_text().splitlines()[-1])["step"]
    assert 8 <= saved < 60
    result_file = tmp_path / "result.json"
    proc = _run([str(run), "--steps", "60", "--resume", "--result", str(result_file)])
    assert proc.wait(timeout=120) == 0
    result = json.loads(result_file.read_text())
    assert result["resumed_from"] == saved and result["steps"] == 60
