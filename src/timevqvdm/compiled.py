"""The networks through `torch.compile`, with an eager fallback (`compile=True` in `SamplingConfig` and
`TrainConfig`; ``--compile`` on the CLI).

    with compiling([prior.network], enabled=True):
        prior.network(z, t, y)  # the compiled forward; outside the block, the eager one

Sampling compiles *frozen* (``compiling(..., frozen=True)``): inductor's freezing folds the weights into
the graph as constants, so what depends only on them (the weight standardisation, the oneDNN convolutions'
packed weights) is computed once at compile time instead of at every call. A frozen forward checks the
weights' identity and version counters at each call; after any change to them (an optimiser step,
`load_state_dict`) it compiles again rather than run on stale constants.

A network's compiled forward is made at its first use and kept on the network for the rest of the process,
so the compile cost is paid once (and the compiler's on-disk cache makes a later process cheaper);
`torch.compile`'s own guards pick the graph for what changes it (grad mode, dtype and autocast, device,
shapes). The compiled forward replaces the network's ``forward`` only inside `compiling`: parameters,
state-dict keys and saved models are untouched, and outside the block every call runs eager.

Where `torch.compile` is unavailable (a platform its compiler does not support) or fails (no C compiler for
inductor's CPU code, no Triton on a GPU), a warning says so once and the network runs eager from then on.
"""

from __future__ import annotations

import copy
import itertools
import logging
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

_ATTRIBUTE = "_timevqvdm_compiled_forward"
# torch.compile's modes: "reduce-overhead" adds CUDA graphs on a GPU (a launch-bound network's remedy);
# on a CPU it compiles as "default".
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class CompiledForward:
    """A module's forward through `torch.compile`, with an eager fallback.

    `torch.compile` is called here, which only wraps the forward; the graphs are compiled at the calls that
    need them. A call whose compiled run raises is run again eagerly: when the eager run raises too, the
    error is the caller's and is raised as it is; when it succeeds, compilation is what failed, so a warning
    says so and every later call runs eager.
    """

    def __init__(self, module: nn.Module, mode: str = "default", frozen: bool = False) -> None:
        self.eager: Callable[..., Any] = type(module).forward.__get__(module)
        self.mode, self.frozen = mode, frozen
        self.compiled: Callable[..., Any] | None = None
        # Frozen: the weights a graph folded in, read at the first call after (re)compiling, when the
        # graph is built; None until then.
        self._weights: tuple | None = None
        if not compiler_available():
            _warn("torch.compile is not supported on this platform")
            return
        self._compile()

    def _compile(self) -> None:
        """A fresh torch.compile wrapper (on a code object of its own, so with no graphs yet)."""
        try:
            # Static shapes: a network meets only a few batch sizes (sampling slices, training batches), one
            # graph each; graphs generalised over the size failed in inductor's lowering of the HF prior's
            # training step, and CUDA graphs need static shapes anyway.
            self.compiled = torch.compile(_own_code(self.eager), mode=self.mode, dynamic=False)
            self._weights = None
        except Exception as err:  # e.g. a Python version the compiler does not support yet
            self._fall_back(err)

    @property
    def failed(self) -> bool:
        return self.compiled is None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is None:
            return self.eager(*args, **kwargs)
        if self.frozen:
            weights = _weights_state(self.eager.__self__)
            if self._weights is not None and weights != self._weights:
                self._compile()  # the folded constants are stale
                if self.compiled is None:
                    return self.eager(*args, **kwargs)
            self._weights = weights
        try:
            return self.compiled(*args, **kwargs)
        except Exception as err:  # told apart from the caller's own errors by the eager run below
            out = self.eager(*args, **kwargs)
            self._fall_back(err)
            return out

    def __deepcopy__(self, memo: dict) -> CompiledForward:
        """A copy of the module gets a compiled forward of its own. It is made while the module is being
        copied, before the copy has its parameters, which is why nothing here reads the weights."""
        return CompiledForward(copy.deepcopy(self.eager.__self__, memo), self.mode, self.frozen)

    def _fall_back(self, err: Exception) -> None:
        self.compiled = None
        log.debug("torch.compile failed for %s", type(self.eager.__self__).__name__, exc_info=err)
        first_line = next(iter(str(err).strip().splitlines()), "")
        _warn(f"torch.compile failed ({type(err).__name__}: {first_line})")


def compiler_available() -> bool:
    """Whether this platform supports `torch.compile` at all (a missing C compiler shows only at a call)."""
    try:
        from torch._dynamo.eval_frame import is_dynamo_supported
    except ImportError:
        return hasattr(torch, "compile")
    return is_dynamo_supported()


def compiled_forward(module: nn.Module, mode: str = "default", frozen: bool = False) -> CompiledForward:
    """The module's `CompiledForward` in a torch.compile `mode`, frozen or not, made at the first request
    and kept on the module (one per mode and freezing)."""
    _check_mode(mode)
    forwards = module.__dict__.setdefault(_ATTRIBUTE, {})
    if (mode, frozen) not in forwards:
        forwards[mode, frozen] = CompiledForward(module, mode, frozen)
    return forwards[mode, frozen]


def compile_mode(compile: bool | str) -> str | None:
    """A `compile` setting (False, True or a mode of `COMPILE_MODES`) as a torch.compile mode, None for eager."""
    if isinstance(compile, str):
        return _check_mode(compile)
    return "default" if compile else None


def _check_mode(mode: str) -> str:
    if mode not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {mode!r}; choose one of {COMPILE_MODES}")
    return mode


@contextmanager
def compiling(
    modules: Iterable[nn.Module], enabled: bool | str = True, frozen: bool = False
) -> Iterator[None]:
    """Within the block, calls of each module run its compiled forward (`compiled_forward`; ``enabled`` may
    name a torch.compile mode of `COMPILE_MODES`, True is "default"); with ``enabled=False``, its eager
    forward (also where an enclosing block compiles it). ``frozen=True`` compiles for inference with the
    weights folded in (module docstring); training steps compile unfrozen."""
    modules = list(modules)
    mode = compile_mode(enabled)
    previous = [module.__dict__.get("forward") for module in modules]
    # Freezing is set for the whole block, in the caller's thread: the sampling slices call the networks
    # from worker threads, which must not switch a process-wide setting on and off under each other.
    with _freezing(frozen and mode is not None):
        for module in modules:
            if mode is not None:
                module.forward = compiled_forward(module, mode, frozen)
            else:
                module.__dict__.pop("forward", None)
        try:
            yield
        finally:
            for module, forward in zip(modules, previous, strict=True):
                if forward is None:
                    module.__dict__.pop("forward", None)
                else:
                    module.forward = forward


def networks_of(module: nn.Module) -> list[nn.Module]:
    """The networks a compiler takes whole: ``module.networks()`` where the module names them, else itself."""
    networks = getattr(module, "networks", None)
    return list(networks()) if callable(networks) else [module]


def _own_code(method: Callable[..., Any]) -> Callable[..., Any]:
    """The bound method with a copy of its function's code object.

    The compiler keeps its graphs, its recompile limit (8) and what it learnt about changing shapes per code
    object, so every instance of a class would share them: the LF and HF U-Nets' graphs would count
    against one limit, and the HF net would be compiled with the widths made dynamic because the LF net's
    differ. A code object of its own gives each network its own.
    """
    func = method.__func__
    clone = types.FunctionType(
        func.__code__.replace(), func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    clone.__kwdefaults__, clone.__qualname__ = func.__kwdefaults__, func.__qualname__
    return types.MethodType(clone, method.__self__)


@contextmanager
def _freezing(frozen: bool) -> Iterator[None]:
    """Inductor's freezing switched on for a `compiling` block whose forwards are frozen (they compile only
    inside one). It is a process-wide setting, read when a graph is compiled (`torch.compile`'s per-call
    ``options`` do not reach it); a graph keeps what it was compiled with, and the previous value comes back
    at the end of the block."""
    if not frozen:
        yield
        return
    import torch._inductor.config as inductor_config

    with inductor_config.patch(freezing=True):
        yield


def _weights_state(module: nn.Module) -> tuple:
    """Which tensors hold the module's weights and how often each was modified in place: a frozen graph is
    valid while this stays the same."""
    tensors = itertools.chain(module.parameters(), module.buffers())
    return tuple((t.data_ptr(), t._version) for t in tensors)


def _warn(reason: str) -> None:
    # Attributed to this line, so Python shows a warning once per reason, not once per network or call.
    warnings.warn(f"{reason}; the networks run eager instead", RuntimeWarning, stacklevel=1)
