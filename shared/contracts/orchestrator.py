"""orchestrator service (port 8003): `POST /create-masterplan` and the Masterplan itself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.contracts.analysis import AnalysisResult
from shared.contracts.common import Contract
from shared.contracts.separation import ALL_STEMS, SeparationStem

StemName = Literal["vocals", "drums", "bass", "other", "instrumental", "full"]
# The separated stems (`POST /separate`) each layer stem is made of; "full" is the song.
LAYER_FILES: dict[str, tuple[SeparationStem, ...]] = {
    "vocals": ("vocals",), "drums": ("drums",), "bass": ("bass",), "other": ("other",),
    "instrumental": ("drums", "bass", "other"), "full": ()}
ENERGY_CURVES = (
    "build", "decline", "wave", "steady", "double-peak", "late-peak", "rollercoaster",
    "plateau-peak",
)


class Layer(Contract):
    songId: str
    stem: StemName
    volume_db: float = Field(default=0.0, ge=-60, le=6)
    effects: list[str] = Field(default_factory=list)
    # Optional: where in the source song (seconds, source time) this layer starts.
    source_start_sec: float | None = Field(default=None, ge=0)


class TimelineSection(Contract):
    time_start_sec: float = Field(ge=0)
    duration_sec: float = Field(gt=0)
    description: str = ""
    energy_level: float = Field(default=0.5, ge=0, le=1)
    layers: list[Layer] = Field(default_factory=list)


class GlobalSettings(Contract):
    targetBPM: float = Field(gt=20, lt=400)
    targetKey: str
    timeSignature: tuple[int, int] = (4, 4)


class ProblemSolution(Contract):
    problem: str
    solution: str


class Masterplan(Contract):
    title: str
    artistCredits: str = ""
    global_: GlobalSettings = Field(alias="global")
    timeline: list[TimelineSection] = Field(min_length=1)
    problems_and_solutions: list[ProblemSolution] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """The JSON body with the contract's field name `global`."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class PlanOptions(Contract):
    duration_sec: float | None = Field(default=None, gt=0, le=1200)
    energy_curve: str | None = None
    style_prompt: str | None = Field(default=None, max_length=2000)
    seed: int | None = None
    # The length range the plan must keep to (default 60–240 s; see the orchestrator).
    min_duration_sec: float | None = Field(default=None, gt=0, le=1200)
    max_duration_sec: float | None = Field(default=None, gt=0, le=1200)

    @model_validator(mode="after")
    def _ordered_range(self) -> PlanOptions:
        low, high = self.min_duration_sec, self.max_duration_sec
        if low is not None and high is not None and low > high:
            raise ValueError("min_duration_sec must not exceed max_duration_sec")
        return self


class MasterplanRequest(Contract):
    analyses: list[AnalysisResult] = Field(min_length=2, max_length=16)
    scores: dict[str, Any] = Field(default_factory=dict)
    options: PlanOptions | None = None


class Usage(Contract):
    input_tokens: int = 0
    output_tokens: int = 0


class MasterplanResponse(Contract):
    creative_vision: str
    masterplan: Masterplan
    planner: Literal["claude", "rules"]
    model: str | None = None
    usage: Usage | None = None
    warnings: list[str] = Field(default_factory=list)


def stem_files(stems: Iterable[str]) -> list[SeparationStem]:
    """The separated stems that layer stems `stems` are made of, in ALL_STEMS order."""
    files = {file for stem in stems for file in LAYER_FILES.get(stem, ())}
    return [name for name in ALL_STEMS if name in files]


def layer_stems_needed(plan: Masterplan, song_ids: Sequence[str]) -> dict[str, set[str]]:
    """songId → the layer stems the renderer plays of it. A section without layers plays
    the fill song's instrumental (the first song the plan names, else the first of
    `song_ids`)."""
    needs: dict[str, set[str]] = {}
    for section in plan.timeline:
        for layer in section.layers:
            needs.setdefault(layer.songId, set()).add(layer.stem)
    if any(not section.layers for section in plan.timeline) and (needs or song_ids):
        fill = next(iter(needs)) if needs else song_ids[0]
        needs.setdefault(fill, set()).add("instrumental")
    return needs
