using System.IO.Compression;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>Reads and rewrites single entries of a model zip held in memory, to damage it on purpose.</summary>
internal static class ZipEntries
{
    /// <summary>Offsets in ML.NET's model header (the start of every Model.key stream).</summary>
    public const int ModelVerWrittenOffset = 0x48, ModelVerReadableOffset = 0x4C;

    public static IReadOnlyList<string> Names(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
        return archive.Entries.Select(e => e.FullName).ToList();
    }

    public static byte[] Read(byte[] zip, string name)
    {
        using var archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
        using var entry = archive.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        entry.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A copy of <paramref name="zip"/> whose entries named by <paramref name="edit"/>'s keys hold new bytes.</summary>
    public static byte[] Rewrite(byte[] zip, Func<string, byte[], byte[]?> edit)
    {
        using var output = new MemoryStream();
        output.Write(zip);
        using (var archive = new ZipArchive(output, ZipArchiveMode.Update, leaveOpen: true))
        {
            foreach (var name in archive.Entries.Select(e => e.FullName).ToList())
            {
                var changed = edit(name, Read(zip, name));
                if (changed is null) continue;
                archive.GetEntry(name)!.Delete();
                using var stream = archive.CreateEntry(name).Open();
                stream.Write(changed);
            }
        }
        return output.ToArray();
    }
}
