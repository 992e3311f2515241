#!/usr/bin/env bash
# Writes the shell completions and man pages that release archives carry
# (goreleaser runs it before building): completions/ and manpages/.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf completions manpages
mkdir -p completions manpages
go build -o completions/.nextcore ./cmd/nextcore
for sh in bash zsh fish powershell; do
  completions/.nextcore completion "$sh" > "completions/nextcore.$sh"
done
mv completions/nextcore.powershell completions/nextcore.ps1
completions/.nextcore man manpages
gzip -n -9 manpages/*.1
rm completions/.nextcore
