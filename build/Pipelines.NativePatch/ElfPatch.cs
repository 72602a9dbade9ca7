// Byte-level ELF patch that lets TorchSharp's native glue library load on Debian 12.
//
// libLibTorchSharp.so (TorchSharp 0.107) was linked by GCC 13. GCC 13's <iostream> makes every
// translation unit call std::ios_base_library_init() (mangled _ZSt21ios_base_library_initv,
// versioned GLIBCXX_3.4.32) purely to make sure the standard streams (cout, cerr, ...) are
// initialised. Debian 12 ships GCC 12's libstdc++ (up to GLIBCXX_3.4.30), which lacks both the
// symbol and the version, so dlopen fails. The std::ios_base::Init constructor
// (_ZNSt8ios_base4InitC1Ev) does that same initialisation and exists in every libstdc++, so the
// patch renames the reference to it, drops its version requirement and marks the
// GLIBCXX_3.4.32 requirement weak (a missing weak version is tolerated by the loader).

using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;

namespace Pipelines.NativePatch;

/// <summary>Finds the system's libstdc++ and reads which symbol versions it defines.</summary>
public static class LibStdCxx
{
    private const string FileName = "libstdc++.so.6";

    // Searched after LD_LIBRARY_PATH, in the dynamic loader's usual order for the Debian-style
    // multiarch layout first and the Red Hat-style lib64 layout after it.
    private static readonly string[] X64Dirs = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"];
    private static readonly string[] Arm64Dirs = ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];
    private static readonly string[] CommonDirs = ["/lib64", "/usr/lib64", "/usr/lib", "/lib"];

    /// <summary>
    /// Path (symlinks resolved) of the libstdc++.so.6 the loader would most likely pick for this
    /// process: the first 64-bit little-endian ELF of this process's machine type found in the
    /// LD_LIBRARY_PATH entries, then the standard library folders. Null when none is found.
    /// </summary>
    public static string? Locate()
    {
        foreach (string dir in SearchDirectories())
        {
            string candidate = Path.Combine(dir, FileName);
            try
            {
                if (!File.Exists(candidate))
                {
                    continue;
                }

                FileSystemInfo? target = File.ResolveLinkTarget(candidate, returnFinalTarget: true);
                string resolved = Path.GetFullPath(target?.FullName ?? candidate);
                // Like ld.so, skip libraries built for another machine or word size.
                if (File.Exists(resolved) && ElfImage.HasCompatibleHeader(resolved))
                {
                    return resolved;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Unreadable or dangling entry: the loader would skip it too.
            }
        }

        return null;
    }

    /// <summary>
    /// Whether the system's libstdc++.so.6 (see <see cref="Locate"/>) defines the symbol version
    /// <paramref name="version"/> (e.g. "GLIBCXX_3.4.32") in its .gnu.version_d section.
    /// False when no libstdc++ is found.
    /// </summary>
    public static bool DefinesVersion(string version)
    {
        ArgumentException.ThrowIfNullOrEmpty(version);
        string? path = Locate();
        return path is not null && DefinedVersions(path).Contains(version);
    }

    /// <summary>The version names (GLIBCXX_*, CXXABI_*, ...) that the ELF file defines (verdef).</summary>
    public static IReadOnlyList<string> DefinedVersions(string libraryPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(libraryPath);
        var elf = ElfImage.Load(libraryPath);
        return elf.ReadVerdefNames();
    }

    private static IEnumerable<string> SearchDirectories()
    {
        string? ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        if (!string.IsNullOrEmpty(ldPath))
        {
            foreach (string entry in ldPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return entry;
            }
        }

        bool arm = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
        foreach (string dir in arm ? Arm64Dirs : X64Dirs)
        {
            yield return dir;
        }

        foreach (string dir in CommonDirs)
        {
            yield return dir;
        }

        foreach (string dir in arm ? X64Dirs : Arm64Dirs)
        {
            yield return dir;
        }
    }
}

/// <summary>Result of <see cref="LibTorchSharpPatch.Apply"/>.</summary>
public enum PatchOutcome
{
    /// <summary>The file was rewritten with the three edits.</summary>
    Patched,

    /// <summary>The file already carries the edits; it was not touched.</summary>
    AlreadyPatched,

    /// <summary>The file never referenced std::ios_base_library_init; it was not touched.</summary>
    NotApplicable,
}

/// <summary>
/// Patches libLibTorchSharp.so so that it no longer needs GLIBCXX_3.4.32 (GCC 13's libstdc++).
/// See the comment at the top of this file for why the rewrite is sound.
/// </summary>
public static class LibTorchSharpPatch
{
    /// <summary>
    /// True when <paramref name="soPath"/> still references _ZSt21ios_base_library_initv at
    /// GLIBCXX_3.4.32 in a way that makes loading fail on an older libstdc++ (that is, unless both
    /// the symbol binding and the version requirement are already weak).
    /// </summary>
    public static bool NeedsPatch(string soPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(soPath);
        var analysis = IosBaseInitPatcher.Analyze(ElfImage.Load(soPath));
        return analysis.State == PatchState.NeedsPatch && !(analysis.SymbolIsWeak && analysis.VersionIsWeak);
    }

    /// <summary>
    /// Applies the patch in place (atomically: temp file next to it, then a rename over it).
    /// Throws <see cref="InvalidDataException"/> for a file that is not a sound ELF64
    /// little-endian image or whose layout makes the edit unsafe.
    /// </summary>
    public static PatchOutcome Apply(string soPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(soPath);
        var elf = ElfImage.Load(soPath);
        var analysis = IosBaseInitPatcher.Analyze(elf);
        switch (analysis.State)
        {
            case PatchState.AlreadyPatched:
                return PatchOutcome.AlreadyPatched;
            case PatchState.NotApplicable:
                return PatchOutcome.NotApplicable;
        }

        byte[] patched = IosBaseInitPatcher.Patch(elf, analysis);

        // Re-read what is about to be written: it must now look patched, or nothing is written.
        var check = IosBaseInitPatcher.Analyze(ElfImage.Parse(patched, soPath));
        if (check.State != PatchState.AlreadyPatched)
        {
            throw new InvalidDataException($"{soPath}: internal error, the patched image does not verify as patched.");
        }

        WriteAtomically(soPath, patched);
        return PatchOutcome.Patched;
    }

    // A symlink at soPath is replaced by a patched regular file rather than followed, so a file
    // shared through the link (e.g. in the NuGet cache) is never modified.
    private static void WriteAtomically(string path, byte[] bytes)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new IOException($"{path}: has no directory.");
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, File.GetUnixFileMode(full));
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort; the original exception is what matters.
            }

            throw;
        }
    }
}

file enum PatchState
{
    NeedsPatch,
    AlreadyPatched,
    NotApplicable,
}

file sealed record PatchAnalysis(
    PatchState State,
    int SymbolIndex = -1,
    bool SymbolIsWeak = false,
    bool VersionIsWeak = false,
    long NameOffset = -1,
    long VersymEntryOffset = -1,
    long VernauxFlagsOffset = -1);

file static class IosBaseInitPatcher
{
    private const string OldName = "_ZSt21ios_base_library_initv";
    private const string NewName = "_ZNSt8ios_base4InitC1Ev";
    private const string Glibcxx3432 = "GLIBCXX_3.4.32";
    private const ushort VerNdxGlobal = 1;
    private const ushort VerFlgWeak = 0x2;
    private const byte StbWeak = 2;

    public static PatchAnalysis Analyze(ElfImage elf)
    {
        ElfSection? dynsymOrNull = elf.SingleOfType(ElfImage.ShtDynsym);
        if (dynsymOrNull is not { } dynsym)
        {
            return new PatchAnalysis(PatchState.NotApplicable); // Nothing dynamic, nothing referenced.
        }

        ElfSection dynstr = elf.LinkedStringTable(dynsym, ".dynsym");
        IReadOnlyList<ElfSymbol> symbols = elf.ReadSymbols(dynsym);
        ElfSection? versym = elf.VersymFor(dynsym, symbols.Count);
        IReadOnlyList<ElfVernaux> vernaux = elf.ReadVerneed(out _);

        ElfVernaux? target = null;
        foreach (ElfVernaux aux in vernaux)
        {
            if (aux.Name == Glibcxx3432)
            {
                target = target is null
                    ? aux
                    : throw elf.Corrupt($"{Glibcxx3432} is required more than once in .gnu.version_r.");
            }
        }

        int oldIndex = -1;
        for (int i = 0; i < symbols.Count; i++)
        {
            if (symbols[i].Name == OldName)
            {
                oldIndex = oldIndex < 0
                    ? i
                    : throw elf.Corrupt($"more than one .dynsym entry is named {OldName}; refusing to patch.");
            }
        }

        if (oldIndex < 0)
        {
            // Patched earlier: the renamed reference is unversioned and the requirement weak.
            bool renamed = false;
            if (versym is { } vs && target is { } t && (t.Flags & VerFlgWeak) != 0)
            {
                for (int i = 0; i < symbols.Count && !renamed; i++)
                {
                    renamed = symbols[i].Name == NewName
                        && symbols[i].Shndx == 0
                        && (elf.ReadVersym(vs, i) & 0x7fff) == VerNdxGlobal;
                }
            }

            return new PatchAnalysis(renamed ? PatchState.AlreadyPatched : PatchState.NotApplicable);
        }

        ElfSymbol sym = symbols[oldIndex];
        if (sym.Shndx != 0)
        {
            throw elf.Corrupt($"{OldName} is defined here (section index {sym.Shndx}), not referenced; refusing to patch.");
        }

        if (versym is not { } versymSection)
        {
            throw elf.Corrupt($"{OldName} is referenced but the file has no .gnu.version section; unexpected layout.");
        }

        if (target is not { } need)
        {
            throw elf.Corrupt($"{OldName} is referenced but no {Glibcxx3432} requirement exists in .gnu.version_r; unexpected layout.");
        }

        ushort version = (ushort)(elf.ReadVersym(versymSection, oldIndex) & 0x7fff);
        if (version != need.Index)
        {
            throw elf.Corrupt($"{OldName} has version index {version}, not {need.Index} ({Glibcxx3432}); unexpected layout.");
        }

        CheckNameNotShared(elf, dynsym, dynstr, oldIndex, sym.NameOffset);
        CheckHashTables(elf, dynsym, oldIndex);
        CheckDynamicAddresses(elf, dynsym, dynstr, versymSection);

        return new PatchAnalysis(
            PatchState.NeedsPatch,
            oldIndex,
            SymbolIsWeak: (sym.Info >> 4) == StbWeak,
            VersionIsWeak: (need.Flags & VerFlgWeak) != 0,
            NameOffset: (long)(dynstr.Offset + sym.NameOffset),
            VersymEntryOffset: (long)versymSection.Offset + (2L * oldIndex),
            VernauxFlagsOffset: need.FlagsFileOffset);
    }

    public static byte[] Patch(ElfImage elf, PatchAnalysis analysis)
    {
        byte[] bytes = (byte[])elf.Data.Clone();

        // 1. .dynstr: overwrite the name in place (st_name keeps pointing at it), NUL-padded.
        byte[] newName = Encoding.ASCII.GetBytes(NewName);
        int start = checked((int)analysis.NameOffset);
        bytes.AsSpan(start, OldName.Length).Clear();
        newName.CopyTo(bytes.AsSpan(start));

        // 2. .gnu.version: the reference becomes unversioned (VER_NDX_GLOBAL).
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(checked((int)analysis.VersymEntryOffset)), VerNdxGlobal);

        // 3. .gnu.version_r: a weak requirement may be missing from libstdc++ without failing the load.
        Span<byte> flags = bytes.AsSpan(checked((int)analysis.VernauxFlagsOffset), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(flags, (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(flags) | VerFlgWeak));
        return bytes;
    }

    // The name is overwritten in place, so no other string reference may point into it (a
    // linker may share a suffix of one string as another string) nor at a longer string ending in it.
    private static void CheckNameNotShared(ElfImage elf, ElfSection dynsym, ElfSection dynstr, int symbolIndex, uint nameOffset)
    {
        uint first = nameOffset;
        while (first > 0 && elf.Data[(int)(dynstr.Offset + first - 1)] != 0)
        {
            first--;
        }

        uint end = nameOffset + (uint)OldName.Length; // Offset of the terminating NUL.
        foreach ((string owner, uint offset) in elf.StringReferences(dynstr))
        {
            bool isTarget = owner == ElfImage.SymbolOwner(dynsym, symbolIndex);
            if (!isTarget && offset >= first && offset < end)
            {
                throw elf.Corrupt(
                    $"the .dynstr bytes of {OldName} (offset 0x{nameOffset:x}) are shared with another name " +
                    $"(referenced by {owner} at offset 0x{offset:x}); overwriting them in place would rename it too.");
            }
        }
    }

    // The symbol is undefined: hash tables exist to look up symbols this file defines for others,
    // so renaming an undefined one needs no hash change (.gnu.hash omits undefined symbols; a SysV
    // .hash may chain them, but lookups skip entries with st_shndx == SHN_UNDEF).
    private static void CheckHashTables(ElfImage elf, ElfSection dynsym, int symbolIndex)
    {
        foreach (ElfSection gnuHash in elf.OfType(ElfImage.ShtGnuHash))
        {
            if (gnuHash.Link == dynsym.Index)
            {
                uint symOffset = elf.ReadU32(gnuHash.Offset + 4, gnuHash.Offset, gnuHash.Size, ".gnu.hash header");
                if ((uint)symbolIndex >= symOffset)
                {
                    throw elf.Corrupt($"{OldName} (symbol {symbolIndex}) is indexed by .gnu.hash (symoffset {symOffset}); unexpected layout.");
                }
            }
        }
    }

    // The loader finds these tables through .dynamic, the patch through section headers: they must agree.
    private static void CheckDynamicAddresses(ElfImage elf, ElfSection dynsym, ElfSection dynstr, ElfSection versym)
    {
        ElfSection? verneed = elf.SingleOfType(ElfImage.ShtGnuVerneed);
        foreach ((long tag, ulong value) in elf.ReadDynamic())
        {
            (string name, ElfSection? section) = tag switch
            {
                ElfImage.DtStrtab => ("DT_STRTAB", dynstr),
                ElfImage.DtSymtab => ("DT_SYMTAB", dynsym),
                ElfImage.DtVersym => ("DT_VERSYM", versym),
                ElfImage.DtVerneed => ("DT_VERNEED", verneed),
                _ => ("", (ElfSection?)null),
            };
            if (section is { } s && s.Addr != value)
            {
                throw elf.Corrupt($"{name} (0x{value:x}) does not match section {s.Name} (address 0x{s.Addr:x}); inconsistent headers.");
            }
        }
    }
}

file readonly record struct ElfSection(
    int Index, string Name, uint Type, ulong Addr, ulong Offset, ulong Size, uint Link, uint Info, ulong EntSize);

file readonly record struct ElfSymbol(uint NameOffset, string Name, byte Info, ushort Shndx);

file readonly record struct ElfVernaux(string Name, uint NameOffset, ushort Index, ushort Flags, long FlagsFileOffset);

/// <summary>Minimal bounds-checked reader of a 64-bit little-endian ELF image held in memory.</summary>
file sealed class ElfImage
{
    public const uint ShtStrtab = 3;
    public const uint ShtSymtab = 2;
    public const uint ShtDynamic = 6;
    public const uint ShtNobits = 8;
    public const uint ShtDynsym = 11;
    public const uint ShtGnuHash = 0x6ffffff6;
    public const uint ShtGnuVerdef = 0x6ffffffd;
    public const uint ShtGnuVerneed = 0x6ffffffe;
    public const uint ShtGnuVersym = 0x6fffffff;

    public const long DtNull = 0;
    public const long DtStrtab = 5;
    public const long DtSymtab = 6;
    public const long DtVersym = 0x6ffffff0;
    public const long DtVerneed = 0x6ffffffe;

    private const int EhdrSize = 64;
    private const int ShdrSize = 64;
    private const int SymSize = 24;
    private const ushort EmX86_64 = 62;
    private const ushort EmAarch64 = 183;

    // Dynamic tags whose d_val is an offset into the dynamic string table.
    private static readonly long[] StringTags =
    [
        1, // DT_NEEDED
        14, // DT_SONAME
        15, // DT_RPATH
        29, // DT_RUNPATH
        0x6ffffefa, // DT_CONFIG
        0x6ffffefb, // DT_DEPAUDIT
        0x6ffffefc, // DT_AUDIT
        0x7ffffffd, // DT_AUXILIARY
        0x7fffffff, // DT_FILTER
    ];

    private readonly string path;
    private readonly List<ElfSection> sections = [];

    private ElfImage(byte[] data, string path)
    {
        Data = data;
        this.path = path;
    }

    public byte[] Data { get; }

    public static ElfImage Load(string path) => Parse(File.ReadAllBytes(path), path);

    public static ElfImage Parse(byte[] data, string path)
    {
        var elf = new ElfImage(data, path);
        elf.ParseHeaders();
        return elf;
    }

    /// <summary>ELF64 little-endian of this process's machine (any machine on other architectures).</summary>
    public static bool HasCompatibleHeader(string path)
    {
        Span<byte> header = stackalloc byte[20];
        using (var stream = File.OpenRead(path))
        {
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            {
                return false;
            }
        }

        if (header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F'
            || header[4] != 2 || header[5] != 1)
        {
            return false;
        }

        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        return RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => machine == EmX86_64,
            Architecture.Arm64 => machine == EmAarch64,
            _ => true,
        };
    }

    public InvalidDataException Corrupt(string message) => new($"{path}: {message}");

    public IEnumerable<ElfSection> OfType(uint type)
    {
        foreach (ElfSection s in sections)
        {
            if (s.Type == type)
            {
                yield return s;
            }
        }
    }

    public ElfSection? SingleOfType(uint type)
    {
        ElfSection? found = null;
        foreach (ElfSection s in OfType(type))
        {
            found = found is null ? s : throw Corrupt($"more than one section of type 0x{type:x}.");
        }

        return found;
    }

    public ElfSection LinkedStringTable(ElfSection section, string what)
    {
        if (section.Link == 0 || section.Link >= sections.Count || sections[(int)section.Link].Type != ShtStrtab)
        {
            throw Corrupt($"{what} (section {section.Index}) has sh_link {section.Link}, which is not a string table.");
        }

        ElfSection strtab = sections[(int)section.Link];
        CheckRange(strtab.Offset, strtab.Size, $"string table {strtab.Name}");
        return strtab;
    }

    public IReadOnlyList<ElfSymbol> ReadSymbols(ElfSection symtab)
    {
        if (symtab.EntSize != SymSize || symtab.Size % SymSize != 0)
        {
            throw Corrupt($"symbol table {symtab.Name} has entry size {symtab.EntSize} and size {symtab.Size}; expected multiples of {SymSize}.");
        }

        CheckRange(symtab.Offset, symtab.Size, $"symbol table {symtab.Name}");
        ElfSection strtab = LinkedStringTable(symtab, symtab.Name);
        int count = (int)(symtab.Size / SymSize);
        var symbols = new List<ElfSymbol>(count);
        for (int i = 0; i < count; i++)
        {
            int at = checked((int)symtab.Offset + (i * SymSize));
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan(at));
            byte info = Data[at + 4];
            ushort shndx = BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(at + 6));
            symbols.Add(new ElfSymbol(nameOffset, ReadString(strtab, nameOffset, $"{symtab.Name} entry {i} name"), info, shndx));
        }

        return symbols;
    }

    /// <summary>The .gnu.version section paired with <paramref name="dynsym"/>, if any.</summary>
    public ElfSection? VersymFor(ElfSection dynsym, int symbolCount)
    {
        ElfSection? found = null;
        foreach (ElfSection s in OfType(ShtGnuVersym))
        {
            if (s.Link == dynsym.Index)
            {
                found = found is null ? s : throw Corrupt("more than one .gnu.version section for .dynsym.");
            }
        }

        if (found is { } versym)
        {
            CheckRange(versym.Offset, versym.Size, ".gnu.version");
            if (versym.Size != (ulong)symbolCount * 2)
            {
                throw Corrupt($".gnu.version has {versym.Size / 2} entries but .dynsym has {symbolCount} symbols.");
            }
        }

        return found;
    }

    public ushort ReadVersym(ElfSection versym, int symbolIndex) =>
        ReadU16(versym.Offset + (2UL * (uint)symbolIndex), versym.Offset, versym.Size, ".gnu.version entry");

    /// <summary>All version requirements (vernaux entries); <paramref name="fileOffsets"/> gets the vn_file name offsets.</summary>
    public IReadOnlyList<ElfVernaux> ReadVerneed(out List<uint> fileOffsets)
    {
        var result = new List<ElfVernaux>();
        fileOffsets = [];
        if (SingleOfType(ShtGnuVerneed) is not { } verneed)
        {
            return result;
        }

        CheckRange(verneed.Offset, verneed.Size, ".gnu.version_r");
        ElfSection strtab = LinkedStringTable(verneed, ".gnu.version_r");
        ulong entry = verneed.Offset;
        ulong end = verneed.Offset + verneed.Size;
        int budget = (int)(verneed.Size / 16) + 1; // Records are 16 bytes; guards against cyclic chains.
        for (uint n = 0; verneed.Info == 0 || n < verneed.Info; n++)
        {
            ushort count = ReadU16(entry + 2, verneed.Offset, verneed.Size, "Verneed.vn_cnt");
            uint file = ReadU32(entry + 4, verneed.Offset, verneed.Size, "Verneed.vn_file");
            uint auxOffset = ReadU32(entry + 8, verneed.Offset, verneed.Size, "Verneed.vn_aux");
            uint next = ReadU32(entry + 12, verneed.Offset, verneed.Size, "Verneed.vn_next");
            fileOffsets.Add(file);
            _ = ReadString(strtab, file, "Verneed.vn_file");

            ulong aux = entry + auxOffset;
            for (int a = 0; a < count; a++)
            {
                if (--budget < 0)
                {
                    throw Corrupt(".gnu.version_r has more entries than fit in the section (cyclic chain?).");
                }

                ushort flags = ReadU16(aux + 4, verneed.Offset, verneed.Size, "Vernaux.vna_flags");
                ushort other = ReadU16(aux + 6, verneed.Offset, verneed.Size, "Vernaux.vna_other");
                uint name = ReadU32(aux + 8, verneed.Offset, verneed.Size, "Vernaux.vna_name");
                uint auxNext = ReadU32(aux + 12, verneed.Offset, verneed.Size, "Vernaux.vna_next");
                result.Add(new ElfVernaux(ReadString(strtab, name, "Vernaux.vna_name"), name, other, flags, (long)(aux + 4)));
                if (auxNext == 0)
                {
                    break;
                }

                aux += auxNext;
            }

            if (next == 0)
            {
                break;
            }

            entry += next;
            if (entry >= end || --budget < 0)
            {
                throw Corrupt(".gnu.version_r chain runs outside the section.");
            }
        }

        return result;
    }

    /// <summary>Version names defined by .gnu.version_d (the base entry, the file's own soname, is skipped).</summary>
    public IReadOnlyList<string> ReadVerdefNames()
    {
        var names = new List<string>();
        foreach ((string _, uint nameOffset, bool isBase, ElfSection strtab) in ReadVerdef())
        {
            if (!isBase)
            {
                names.Add(ReadString(strtab, nameOffset, "Verdaux.vda_name"));
            }
        }

        return names;
    }

    /// <summary>Every reference into <paramref name="strtab"/> from symbol tables, version sections and .dynamic.</summary>
    public IEnumerable<(string Owner, uint Offset)> StringReferences(ElfSection strtab)
    {
        var refs = new List<(string, uint)>();
        foreach (ElfSection s in sections)
        {
            if (s.Link != strtab.Index)
            {
                continue;
            }

            if (s.Type is ShtDynsym or ShtSymtab)
            {
                IReadOnlyList<ElfSymbol> symbols = ReadSymbols(s);
                for (int i = 0; i < symbols.Count; i++)
                {
                    refs.Add((SymbolOwner(s, i), symbols[i].NameOffset));
                }
            }
        }

        if (SingleOfType(ShtGnuVerneed) is { } verneed && verneed.Link == strtab.Index)
        {
            IReadOnlyList<ElfVernaux> aux = ReadVerneed(out List<uint> files);
            foreach (uint f in files)
            {
                refs.Add(("Verneed.vn_file", f));
            }

            foreach (ElfVernaux a in aux)
            {
                refs.Add(($"Vernaux {a.Name}", a.NameOffset));
            }
        }

        foreach ((string owner, uint nameOffset, bool _, ElfSection table) in ReadVerdef())
        {
            if (table.Index == strtab.Index)
            {
                refs.Add(($"Verdaux {owner}", nameOffset));
            }
        }

        if (SingleOfType(ShtDynamic) is { } dynamic && dynamic.Link == strtab.Index)
        {
            foreach ((long tag, ulong value) in ReadDynamic())
            {
                if (Array.IndexOf(StringTags, tag) >= 0)
                {
                    refs.Add(($"dynamic tag 0x{tag:x}", value > uint.MaxValue ? uint.MaxValue : (uint)value));
                }
            }
        }

        return refs;
    }

    public static string SymbolOwner(ElfSection symtab, int index) => $"{symtab.Name} (section {symtab.Index}) symbol {index}";

    public IEnumerable<(long Tag, ulong Value)> ReadDynamic()
    {
        var entries = new List<(long, ulong)>();
        if (SingleOfType(ShtDynamic) is not { } dynamic)
        {
            return entries;
        }

        CheckRange(dynamic.Offset, dynamic.Size, ".dynamic");
        for (ulong at = dynamic.Offset; at + 16 <= dynamic.Offset + dynamic.Size; at += 16)
        {
            long tag = (long)ReadU64(at, dynamic.Offset, dynamic.Size, ".dynamic d_tag");
            if (tag == DtNull)
            {
                break;
            }

            entries.Add((tag, ReadU64(at + 8, dynamic.Offset, dynamic.Size, ".dynamic d_val")));
        }

        return entries;
    }

    public ushort ReadU16(ulong offset, ulong sectionOffset, ulong sectionSize, string what)
    {
        CheckWithin(offset, 2, sectionOffset, sectionSize, what);
        return BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan((int)offset));
    }

    public uint ReadU32(ulong offset, ulong sectionOffset, ulong sectionSize, string what)
    {
        CheckWithin(offset, 4, sectionOffset, sectionSize, what);
        return BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan((int)offset));
    }

    public ulong ReadU64(ulong offset, ulong sectionOffset, ulong sectionSize, string what)
    {
        CheckWithin(offset, 8, sectionOffset, sectionSize, what);
        return BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan((int)offset));
    }

    private List<(string Owner, uint NameOffset, bool IsBase, ElfSection Strtab)> ReadVerdef()
    {
        var result = new List<(string, uint, bool, ElfSection)>();
        if (SingleOfType(ShtGnuVerdef) is not { } verdef)
        {
            return result;
        }

        CheckRange(verdef.Offset, verdef.Size, ".gnu.version_d");
        ElfSection strtab = LinkedStringTable(verdef, ".gnu.version_d");
        ulong entry = verdef.Offset;
        int budget = (int)(verdef.Size / 8) + 1; // Records are at least 8 bytes; guards against cyclic chains.
        for (uint n = 0; verdef.Info == 0 || n < verdef.Info; n++)
        {
            ushort flags = ReadU16(entry + 2, verdef.Offset, verdef.Size, "Verdef.vd_flags");
            ushort index = ReadU16(entry + 4, verdef.Offset, verdef.Size, "Verdef.vd_ndx");
            ushort count = ReadU16(entry + 6, verdef.Offset, verdef.Size, "Verdef.vd_cnt");
            uint auxOffset = ReadU32(entry + 12, verdef.Offset, verdef.Size, "Verdef.vd_aux");
            uint next = ReadU32(entry + 16, verdef.Offset, verdef.Size, "Verdef.vd_next");
            ulong aux = entry + auxOffset;
            for (int a = 0; a < count; a++)
            {
                // The first verdaux names the version; later ones name its parents (already listed).
                uint name = ReadU32(aux, verdef.Offset, verdef.Size, "Verdaux.vda_name");
                uint auxNext = ReadU32(aux + 4, verdef.Offset, verdef.Size, "Verdaux.vda_next");
                _ = ReadString(strtab, name, "Verdaux.vda_name");
                result.Add(($"#{index}.{a}", name, a > 0 || (flags & 1) != 0, strtab)); // VER_FLG_BASE = 1
                if (auxNext == 0)
                {
                    break;
                }

                if (--budget < 0)
                {
                    throw Corrupt(".gnu.version_d has more entries than fit in the section (cyclic chain?).");
                }

                aux += auxNext;
            }

            if (next == 0)
            {
                break;
            }

            entry += next;
            if (--budget < 0)
            {
                throw Corrupt(".gnu.version_d chain runs outside the section (cyclic chain?).");
            }
        }

        return result;
    }

    private string ReadString(ElfSection strtab, uint offset, string what)
    {
        if (offset >= strtab.Size)
        {
            throw Corrupt($"{what}: string offset 0x{offset:x} lies outside {strtab.Name} (size 0x{strtab.Size:x}).");
        }

        ReadOnlySpan<byte> rest = Data.AsSpan((int)(strtab.Offset + offset), (int)(strtab.Size - offset));
        int nul = rest.IndexOf((byte)0);
        if (nul < 0)
        {
            throw Corrupt($"{what}: string at offset 0x{offset:x} in {strtab.Name} is not NUL-terminated.");
        }

        return Encoding.UTF8.GetString(rest[..nul]);
    }

    private void ParseHeaders()
    {
        if (Data.Length < 16 || Data[0] != 0x7f || Data[1] != (byte)'E' || Data[2] != (byte)'L' || Data[3] != (byte)'F')
        {
            throw Corrupt("not an ELF file (bad magic).");
        }

        if (Data[4] != 2)
        {
            throw Corrupt($"not a 64-bit ELF file (EI_CLASS {Data[4]}).");
        }

        if (Data[5] != 1)
        {
            throw Corrupt($"not a little-endian ELF file (EI_DATA {Data[5]}).");
        }

        if (Data.Length < EhdrSize)
        {
            throw Corrupt($"truncated ELF header ({Data.Length} bytes).");
        }

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan(40));
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(58));
        ulong shnum = BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(60));
        uint shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(62));
        if (shoff == 0)
        {
            throw Corrupt("has no section headers (stripped with sstrip?); cannot locate the dynamic tables.");
        }

        if (shentsize != ShdrSize)
        {
            throw Corrupt($"e_shentsize is {shentsize}, expected {ShdrSize}.");
        }

        CheckRange(shoff, ShdrSize, "section header 0");
        if (shnum == 0)
        {
            shnum = BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan((int)shoff + 32)); // Extended numbering.
        }

        if (shstrndx == 0xffff)
        {
            shstrndx = BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan((int)shoff + 40));
        }

        if (shnum > (ulong)Data.Length / ShdrSize)
        {
            throw Corrupt($"claims {shnum} section headers, more than the file can hold.");
        }

        CheckRange(shoff, shnum * ShdrSize, "section header table");
        var raw = new List<(uint NameOffset, ElfSection Section)>();
        for (int i = 0; i < (int)shnum; i++)
        {
            ReadOnlySpan<byte> h = Data.AsSpan((int)shoff + (i * ShdrSize), ShdrSize);
            var section = new ElfSection(
                i,
                Name: "",
                Type: BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                Addr: BinaryPrimitives.ReadUInt64LittleEndian(h[16..]),
                Offset: BinaryPrimitives.ReadUInt64LittleEndian(h[24..]),
                Size: BinaryPrimitives.ReadUInt64LittleEndian(h[32..]),
                Link: BinaryPrimitives.ReadUInt32LittleEndian(h[40..]),
                Info: BinaryPrimitives.ReadUInt32LittleEndian(h[44..]),
                EntSize: BinaryPrimitives.ReadUInt64LittleEndian(h[56..]));
            if (section.Type == ShtNobits)
            {
                section = section with { Size = 0 }; // Occupies no file bytes.
            }

            raw.Add((BinaryPrimitives.ReadUInt32LittleEndian(h), section));
        }

        // Section names only make messages readable; a bad .shstrtab is not fatal.
        ElfSection? shstrtab = shstrndx < raw.Count && raw[(int)shstrndx].Section.Type == ShtStrtab
            && InFile(raw[(int)shstrndx].Section.Offset, raw[(int)shstrndx].Section.Size)
            ? raw[(int)shstrndx].Section
            : null;
        foreach ((uint nameOffset, ElfSection section) in raw)
        {
            string name = $"[{section.Index}]";
            if (shstrtab is { } names && nameOffset < names.Size)
            {
                ReadOnlySpan<byte> rest = Data.AsSpan((int)(names.Offset + nameOffset), (int)(names.Size - nameOffset));
                int nul = rest.IndexOf((byte)0);
                if (nul > 0)
                {
                    name = Encoding.UTF8.GetString(rest[..nul]);
                }
            }

            sections.Add(section with { Name = name });
        }
    }

    private bool InFile(ulong offset, ulong length) =>
        offset <= (ulong)Data.Length && length <= (ulong)Data.Length - offset;

    private void CheckRange(ulong offset, ulong length, string what)
    {
        if (!InFile(offset, length))
        {
            throw Corrupt($"{what} (offset 0x{offset:x}, size 0x{length:x}) lies outside the file ({Data.Length} bytes); truncated or corrupt.");
        }
    }

    private void CheckWithin(ulong offset, ulong length, ulong sectionOffset, ulong sectionSize, string what)
    {
        bool inside = offset >= sectionOffset
            && offset - sectionOffset <= sectionSize
            && length <= sectionSize - (offset - sectionOffset);
        if (!inside)
        {
            throw Corrupt($"{what} at offset 0x{offset:x} lies outside its section (0x{sectionOffset:x}+0x{sectionSize:x}).");
        }

        CheckRange(offset, length, what);
    }
}
