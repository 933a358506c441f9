# The builder as a command: `docker build -t handoutkit .`, then, in a project folder,
# `docker run --rm -v "$PWD:/work" handoutkit build` (or check, list, new ...).
# The system libraries are setup.sh's build_packages (tests/test_workflow.py keeps the two
# lists in step); the package is installed from this repository, as a wheel with its
# templates, styles and fonts.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
 && rm -rf /var/lib/apt/lists/*

COPY . /src
RUN pip install --no-cache-dir --disable-pip-version-check -c /src/requirements.lock /src && rm -rf /src

# Not root: a bad input cannot touch the image. Uid 1000 owns what it writes to the
# mounted folder (the first user of most Linux machines).
RUN useradd --create-home --uid 1000 handoutkit
USER handoutkit
WORKDIR /work
ENTRYPOINT ["handoutkit"]
CMD ["build"]
