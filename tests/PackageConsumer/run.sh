#!/usr/bin/env bash
# Packs the library, then builds and runs this consumer application OUTSIDE the repository from
# those packages alone: a local folder feed in a temporary nuget.config, no project reference, no
# Directory.Build.props, a package cache of its own (so the packages just written are the ones
# used). Fails if a package lacks its build targets, the patch tool or a dependency, if the
# application does not train, save, load and predict, or if a package-level check misbehaves.
#   bash tests/PackageConsumer/run.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"; echo "work: $work"
[ -n "${KEEP_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# A version no cache has seen, so NuGet cannot hand back an older build of the same version.
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S)"
echo "== the README's program is this project's Program.cs"
awk '/^<!-- tests\/PackageConsumer\/Program.cs -->$/ {on=1; getline; next} on && /^```$/ {exit} on {print}' "$repo/README.md" \
  | diff -u - "$repo/tests/PackageConsumer/Program.cs" || { echo "README.md's Program.cs differs from tests/PackageConsumer/Program.cs" >&2; exit 1; }
echo "ok"

echo "== pack $version"
dotnet pack "$repo/Pipelines.sln" -c Release -o "$work/feed" -p:VersionSuffix="${version#0.1.0-}" --nologo -v:q
ls -1 "$work/feed"

echo "== package contents"
check() { # package, entry
  unzip -l "$work/feed/$1.$version.nupkg" | awk '{print $4}' | grep -qx "$2" \
    || { echo "missing from $1: $2" >&2; exit 1; }
}
for p in Pipelines.Models Pipelines.Transforms Pipelines.Estimators; do
  check $p "lib/net10.0/$p.dll"; check $p "lib/net10.0/$p.xml"; check $p README.md; check $p LICENSE
  [ -f "$work/feed/$p.$version.snupkg" ] || { echo "missing symbols: $p" >&2; exit 1; }
done
check Pipelines.Models buildTransitive/Pipelines.Models.targets
check Pipelines.Models buildTransitive/Pipelines.TorchSharpNative.targets
check Pipelines.Models tools/native-patch/Pipelines.NativePatch.dll
check Pipelines.Models tools/native-patch/Pipelines.NativePatch.runtimeconfig.json
check Pipelines.Transforms buildTransitive/Pipelines.Transforms.targets
check Pipelines.Transforms buildTransitive/Pipelines.Transforms.props
unzip -p "$work/feed/Pipelines.Estimators.$version.nupkg" Pipelines.Estimators.nuspec | grep -q 'id="TorchSharp-cpu"' \
  || { echo "Pipelines.Estimators does not depend on TorchSharp-cpu" >&2; exit 1; }
echo "ok"

echo "== consumer: restore and build from the packages alone"
app="$work/app"
mkdir -p "$app"
cp "$repo/tests/PackageConsumer/Program.cs" "$repo/tests/PackageConsumer/PackageConsumer.csproj" "$app/"
cat > "$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
  </packageSources>
  <config>
    <add key="globalPackagesFolder" value="$work/packages" />
  </config>
  <fallbackPackageFolders>
    <add key="user" value="${NUGET_PACKAGES:-$HOME/.nuget/packages}" />
  </fallbackPackageFolders>
</configuration>
XML
cd "$app"
dotnet build -c Release -p:PipelinesVersion="$version" --nologo -v:m 2>&1 | tee "$work/build.log"
grep -q 'Pipelines.NativePatch' "$work/build.log" || { echo "the package's native-patch target did not run" >&2; exit 1; }

echo "== consumer: run"
dotnet run -c Release --no-build -- "$repo/data/spamassassin/emails.jsonl.gz" | tee "$work/run.log"

echo "== consumer: publish for linux-x64 patches the published copy too"
dotnet publish -c Release -r linux-x64 --self-contained false -p:PipelinesVersion="$version" -o "$work/publish" --nologo -v:m 2>&1 | tee "$work/publish.log" | grep -E 'NativePatch|error' || true
tool=$(ls "$work"/packages/pipelines.models/*/tools/native-patch/Pipelines.NativePatch.dll)
state=$(dotnet "$tool" patch-native "$work/publish")
echo "$state"
echo "$state" | grep -qE 'libLibTorchSharp.so: AlreadyPatched|left as shipped' || { echo "the published libLibTorchSharp.so was not patched" >&2; exit 1; }
# Half a gigabyte of libtorch: measured, then freed, so the run fits a small disk.
publish_mb=$(du -sm "$work/publish" | cut -f1); rm -rf "$work/publish"

echo "== deployment without libtorch: Pipelines.Transforms + ApplyOnnxModel on the exported spam.onnx"
echo "the README's deployment program is tests/OnnxDeployment/Program.cs"
awk '/^<!-- tests\/OnnxDeployment\/Program.cs -->$/ {on=1; getline; next} on && /^```$/ {exit} on {print}' "$repo/README.md" \
  | diff -u - "$repo/tests/OnnxDeployment/Program.cs" || { echo "README.md's deployment Program.cs differs from tests/OnnxDeployment/Program.cs" >&2; exit 1; }
deploy="$work/deploy"
mkdir -p "$deploy"
cp "$repo/tests/OnnxDeployment/Program.cs" "$repo/tests/OnnxDeployment/OnnxDeployment.csproj" "$app/nuget.config" "$deploy/"
(cd "$deploy" && dotnet build -c Release -p:PipelinesVersion="$version" --nologo -v:q)
if find "$deploy/bin" -name 'libtorch*' -o -name 'TorchSharp.dll' | grep -q .; then
  echo "the deployment's output holds libtorch or TorchSharp" >&2; exit 1
fi
(cd "$deploy" && dotnet run -c Release --no-build -- "$repo/data/spamassassin/emails.jsonl.gz" "$app") | tee "$work/deploy.log"
grep -qx 'libtorch loaded in this process: no' "$work/deploy.log" || { echo "libtorch was loaded" >&2; exit 1; }
trained=$(grep -m1 '^300 test mails:' "$work/run.log"); served=$(grep -m1 '^300 test mails:' "$work/deploy.log")
[ "$trained" = "$served" ] || { echo "ONNX Runtime scored differently: '$served' against TorchSharp's '$trained'" >&2; exit 1; }
(cd "$deploy" && dotnet publish -c Release -r linux-x64 --self-contained false -p:PipelinesVersion="$version" -o "$work/deploy-publish" --nologo -v:q)
echo "ok: the same F1 and AUC as the TorchSharp model; publish folders (linux-x64): TorchSharp application $publish_mb MB, ONNX Runtime application $(du -sm "$work/deploy-publish" | cut -f1) MB"

echo "== consumer: TorchSharpBackend=cuda"
# The CUDA build of libtorch is not on every feed (not on this project's): without it the switch is
# refused by name; with it (stood in for by the property its package sets) the CPU build's native
# files leave the output and deps.json.
if dotnet build -c Release -p:PipelinesVersion="$version" -p:TorchSharpBackend=cuda -o "$work/cuda" --nologo -v:q > "$work/cuda.log" 2>&1; then
  echo "TorchSharpBackend=cuda without TorchSharp-cuda-linux did not fail" >&2; exit 1
fi
grep -q 'add <PackageReference Include="TorchSharp-cuda-linux"' "$work/cuda.log" || { cat "$work/cuda.log"; echo "no advice to add TorchSharp-cuda-linux" >&2; exit 1; }
dotnet build -c Release -p:PipelinesVersion="$version" -p:TorchSharpBackend=cuda -p:TorchSharpCudaPackage=true -o "$work/cuda" --nologo -v:q
if find "$work/cuda" -name 'libtorch_cpu.so' | grep -q . || grep -q '"libtorch-cpu-linux-x64' "$work/cuda/PackageConsumer.deps.json"; then
  echo "TorchSharpBackend=cuda left libtorch's CPU build in the output" >&2; exit 1
fi
echo "ok: refused without TorchSharp-cuda-linux; with it, no CPU libtorch in the output or deps.json"

echo "== consumer: the package's ML.NET version check refuses another version"
if dotnet build -c Release -p:PipelinesVersion="$version" -p:PipelinesMlNetVersion=9.9.9 --nologo -v:q > "$work/mlnet.log" 2>&1; then
  echo "building against an ML.NET other than the packages' did not fail" >&2; exit 1
fi
grep -q 'PIPELINES001' "$work/mlnet.log" || { cat "$work/mlnet.log"; echo "no PIPELINES001 error" >&2; exit 1; }
echo "ok: $(grep -o "error PIPELINES001: .*" "$work/mlnet.log" | head -1 | cut -c1-160)..."
echo "package consumer: passed"
