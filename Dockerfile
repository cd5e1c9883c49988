# The naq command in a small image:
#
#   docker build -t naq --build-arg VERSION=$(git describe --always --dirty) .
#   docker run -d --name naq -p 4222:4222 -v naq-data:/data naq \
#     server --host 0.0.0.0 --store /data --auth-token "$TOKEN"             # the server
#   docker run --rm -e NAQ_NATS_URL=nats://naq:4222 -e NAQ_NATS_TOKEN="$TOKEN" naq worker --target http://app:8080/jobs
#
# See docs/deployment.md.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/naq ./cmd/naq \
 && mkdir -p /out/data

# No shell, no package manager: the one static binary, run as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/naq /usr/local/bin/naq
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/local/bin/naq"]
# No default server: one listening beyond the container needs credentials,
# which an image must not carry. Give the command and its flags at run time.
CMD ["--help"]
