using System;
using System.Buffers.Binary;

namespace IscsiConvert.Windows;

/// <summary>
/// The machine type of a Portable Executable (Microsoft PE/COFF specification): the DOS header's "MZ" and e_lfanew,
/// then "PE\0\0" and the COFF file header whose first field is Machine. Only what names the processor is read.
/// </summary>
internal static class PeImageHeader
{
    public const int DosSignatureOffset = 0x00;
    public const int NewHeaderPointerOffset = 0x3C;   // e_lfanew: file offset of the PE signature
    public const int MachineOffsetFromSignature = 4;  // the COFF header follows the 4-byte signature; Machine is its first field
    public const ushort DosSignature = 0x5A4D;        // "MZ"
    public const uint PeSignature = 0x00004550;       // "PE\0\0"

    /// <summary>Bytes enough for any sensible header: Windows' own images put e_lfanew well below this.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    public const ushort MachineI386 = 0x014C;
    public const ushort MachineAmd64 = 0x8664;
    public const ushort MachineArm64 = 0xAA64;
    public const ushort MachineIa64 = 0x0200;
    public const ushort MachineArmNt = 0x01C4;

    /// <summary>
    /// The Machine field of the PE image whose first bytes are <paramref name="header"/>, or an explanation of why
    /// it has none (no MZ, e_lfanew outside the bytes, no PE signature).
    /// </summary>
    public static ushort? ReadMachine(ReadOnlySpan<byte> header, out string? problem)
    {
        problem = null;
        if (header.Length < NewHeaderPointerOffset + 4 || BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(DosSignatureOffset)) != DosSignature)
        {
            problem = "no MZ signature at offset 0";
            return null;
        }
        uint lfanew = BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(NewHeaderPointerOffset));
        // Compared as longs so that a huge e_lfanew cannot overflow the bounds check.
        if ((long)lfanew + MachineOffsetFromSignature + 2 > header.Length)
        {
            problem = $"e_lfanew 0x{lfanew:x} points beyond the first {header.Length} bytes";
            return null;
        }
        int pe = (int)lfanew;
        if (BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(pe)) != PeSignature)
        {
            problem = $"no PE signature at offset 0x{pe:x}";
            return null;
        }
        return BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(pe + MachineOffsetFromSignature));
    }

    /// <summary>The INF architecture name (x86, amd64, arm64, ia64, arm) of a machine type, or null for others.</summary>
    public static string? ArchitectureOf(ushort machine) => machine switch
    {
        MachineI386 => "x86",
        MachineAmd64 => "amd64",
        MachineArm64 => "arm64",
        MachineIa64 => "ia64",
        MachineArmNt => "arm",
        _ => null,
    };
}
