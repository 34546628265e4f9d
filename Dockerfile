# glaserve container (CPU build for now; the CUDA build and runtime stages, health check
# and deployment settings come with the deployment work). Both stages install their
# dependencies with the same scripts/install-deps.sh that the README and CI use.
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh
COPY . .
RUN scripts/build.sh -DGLASERVE_CUDA=OFF -DGLASERVE_BUILD_TESTS=OFF

FROM debian:12
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh && useradd --create-home --uid 10001 glaserve
COPY --from=build /src/build/bin/glaserve /usr/local/bin/glaserve
USER glaserve
# The model directory is mounted here.
VOLUME /models
ENTRYPOINT ["glaserve"]
