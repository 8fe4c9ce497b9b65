"""JSON API: markets (being built)."""

from fastapi import APIRouter

router = APIRouter()
