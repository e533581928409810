"""A FastAPI app serving fixture models, for the HTTP tests. Run as a separate process:

    python model_server.py --fd FD --model NAME=PATH.joblib [--model ...]

FD is a listening socket the test created on 127.0.0.1 (port 0, so the port is free and there
is no race). Routes, per model NAME (docs/serving.md describes the protocol):

    POST /NAME/records      records in; [{"label", "probabilities"}] + "classes" out
    POST /NAME/labels       records in; labels out
    POST /NAME/proba        records in; lists of probabilities + "classes" out
    POST /NAME/invocations  MLflow: {"dataframe_records": [...]} in; {"predictions": labels} out
    POST /slow?seconds=S    answers like /NAME/records of the first model, after S seconds
    POST /fail              HTTP 500
    POST /garbage           HTTP 200 with a body that is not JSON
    POST /short             one prediction fewer than rows
    GET  /health            200 once the models are loaded
"""
from __future__ import annotations

import argparse
import socket
import time

import joblib
import numpy as np
import pandas as pd
import uvicorn
from fastapi import Body, FastAPI, HTTPException
from fastapi.responses import PlainTextResponse


def make_app(models: dict) -> FastAPI:
    app = FastAPI()
    first = next(iter(models))

    def frame(payload: dict, key: str) -> pd.DataFrame:
        records = payload.get(key)
        if not isinstance(records, list):
            raise HTTPException(400, f"expected a `{key}` list")
        return pd.DataFrame.from_records(records)

    def plain(values) -> list:
        return np.asarray(values).tolist()

    def answer(name: str, rows: pd.DataFrame) -> dict:
        model = models[name]
        labels = plain(model.predict(rows))
        probabilities = plain(model.predict_proba(rows))
        return {"predictions": [{"label": l, "probabilities": p} for l, p in zip(labels, probabilities)],
                "classes": plain(model.classes_)}

    @app.get("/health")
    def health():
        return {"ok": True, "models": list(models)}

    @app.post("/slow")
    def slow(seconds: float = 2.0, payload: dict = Body(...)):
        time.sleep(seconds)
        return answer(first, frame(payload, "records"))

    @app.post("/fail")
    def fail(payload: dict = Body(...)):
        raise HTTPException(500, "the model server is broken")

    @app.post("/garbage")
    def garbage(payload: dict = Body(...)):
        return PlainTextResponse("this is not JSON", status_code=200)

    @app.post("/short")
    def short(payload: dict = Body(...)):
        rows = frame(payload, "records")
        return {"predictions": plain(models[first].predict(rows))[:-1]}

    @app.post("/{name}/records")
    def records(name: str, payload: dict = Body(...)):
        return answer(name, frame(payload, "records"))

    @app.post("/{name}/labels")
    def labels(name: str, payload: dict = Body(...)):
        return {"predictions": plain(models[name].predict(frame(payload, "records")))}

    @app.post("/{name}/proba")
    def proba(name: str, payload: dict = Body(...)):
        model = models[name]
        return {"predictions": plain(model.predict_proba(frame(payload, "records"))), "classes": plain(model.classes_)}

    @app.post("/{name}/invocations")
    def invocations(name: str, payload: dict = Body(...)):
        return {"predictions": plain(models[name].predict(frame(payload, "dataframe_records")))}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH.joblib")
    args = parser.parse_args()
    models = {}
    for item in args.model:
        name, path = item.split("=", 1)
        models[name] = joblib.load(path)
    # socket.socket(fileno=...) detects the family (AF_INET): uvicorn's own `fd=` assumes a Unix
    # socket, and asyncio then leaves Nagle's algorithm on, which adds ~40 ms to every answer.
    listener = socket.socket(fileno=args.fd)
    config = uvicorn.Config(make_app(models), log_level="warning", access_log=False, timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
