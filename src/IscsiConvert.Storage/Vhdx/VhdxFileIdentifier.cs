using System;
using System.Text;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>The file type identifier at offset 0: the signature "vhdxfile" and the creator as UTF-16LE text.</summary>
internal sealed record VhdxFileIdentifier(string Creator)
{
    public const int Size = 64 * 1024;
    private const int SignatureOffset = 0;
    private const int CreatorOffset = 8;
    private const int CreatorLength = 512;
    private const ulong Signature = 0x656C696678646876; // "vhdxfile" read little-endian

    public static VhdxFileIdentifier ReadFrom(ReadOnlySpan<byte> block, string? path)
    {
        ulong signature = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(block.Slice(SignatureOffset));
        if (signature != Signature)
        {
            throw new CorruptDataException(VhdxFormat.Name, "file type identifier", VhdxFormat.FileIdentifierOffset,
                $"signature 0x{signature:X16} is not \"vhdxfile\"", path);
        }
        string creator = Encoding.Unicode.GetString(block.Slice(CreatorOffset, CreatorLength).ToArray());
        int nul = creator.IndexOf('\0');
        return new VhdxFileIdentifier(nul >= 0 ? creator.Substring(0, nul) : creator);
    }

    public void WriteTo(Span<byte> block)
    {
        block.Slice(0, Size).Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(block.Slice(SignatureOffset), Signature);
        byte[] text = Encoding.Unicode.GetBytes(Creator);
        text.AsSpan(0, Math.Min(text.Length, CreatorLength - 2)).CopyTo(block.Slice(CreatorOffset));
    }
}
