#!/usr/bin/python3
"""Writes the tiny datasets under testdata/, laid out like the real downloads.

    /usr/bin/python3 gen_tiny.py      (Pillow 9.4; rerun only to change them)

  voc/VOCdevkit/VOC2012/   JPEGImages, Annotations (XML), SegmentationClass
                           (palette PNG), ImageSets/{Main,Segmentation}/*.txt
  coco/                    annotations/{instances,captions}_{train,val}2017.json,
                           train2017/, val2017/
  kodak/                   kodim01.png … kodim24.png
  folder/                  a few images of mixed formats plus non-images

Images are 16x12 (Kodak 8x8) and drawn from random.Random(24), so each file
is a few hundred bytes. File contents follow the real formats; sizes in the
annotations are the tiny images' real sizes.
"""
import json
import os
import random
import shutil

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(24)
W, H = 16, 12


def tiny(w=W, h=H):
    base = [rng.randrange(256) for _ in range(3)]
    img = Image.new("RGB", (w, h), tuple(base))
    px = img.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = tuple((c + 9 * x + 13 * y + rng.randrange(16)) % 256 for c in base)
    return img


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def voc_palette():
    """The PASCAL VOC colour map: bits of the index spread over R, G, B."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


VOC_XML = """<annotation>
	<folder>VOC2012</folder>
	<filename>{id}.jpg</filename>
	<source>
		<database>The VOC2007 Database</database>
		<annotation>PASCAL VOC2007</annotation>
		<image>flickr</image>
	</source>
	<size>
		<width>{w}</width>
		<height>{h}</height>
		<depth>3</depth>
	</size>
	<segmented>{seg}</segmented>
{objects}</annotation>
"""

VOC_OBJ = """	<object>
		<name>{name}</name>
		<pose>{pose}</pose>
		<truncated>{trunc}</truncated>
		<difficult>{diff}</difficult>
		<bndbox>
			<xmin>{x0}</xmin>
			<ymin>{y0}</ymin>
			<xmax>{x1}</xmax>
			<ymax>{y1}</ymax>
		</bndbox>
	</object>
"""

VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor"]


def gen_voc():
    root = os.path.join(HERE, "voc", "VOCdevkit", "VOC2012")
    shutil.rmtree(os.path.join(HERE, "voc"), ignore_errors=True)
    # id: (objects, segmented)
    samples = {
        "2007_000032": ([("aeroplane", "Frontal", 0, 0, (2, 3, 11, 9)), ("person", "Unspecified", 1, 0, (12, 5, 16, 12))], True),
        "2007_000033": ([("aeroplane", "Left", 0, 0, (1, 1, 15.5, 10))], True),
        "2007_000042": ([("train", "Unspecified", 1, 0, (1, 1, 16, 12)), ("train", "Frontal", 0, 1, (4, 2, 9, 8))], True),
        "2008_000002": ([("tvmonitor", "Unspecified", 0, 0, (3, 2, 14, 11))], False),
        "2008_000003": ([("train", "Unspecified", 0, 0, (1, 2, 16, 11)), ("person", "Right", 1, 0, (5, 4, 8, 12))], False),
    }
    pal = voc_palette()
    for sid, (objs, seg) in samples.items():
        tiny().save(os.path.join(mkdir(root, "JPEGImages"), sid + ".jpg"), quality=75)
        body = "".join(VOC_OBJ.format(name=n, pose=p, trunc=t, diff=d, x0=b[0], y0=b[1], x1=b[2], y1=b[3])
                       for n, p, t, d, b in objs)
        write(os.path.join(root, "Annotations", sid + ".xml"),
              VOC_XML.format(id=sid, w=W, h=H, seg=int(seg), objects=body))
        if seg:
            m = Image.new("P", (W, H), 0)
            m.putpalette(pal)
            px = m.load()
            for n, _, _, _, b in objs:
                x0, y0, x1, y1 = (int(v) for v in b)
                for y in range(y0 - 1, y1):
                    for x in range(x0 - 1, x1):
                        edge = x in (x0 - 1, x1 - 1) or y in (y0 - 1, y1 - 1)
                        px[x, y] = 255 if edge else VOC_CLASSES.index(n)
            m.save(os.path.join(mkdir(root, "SegmentationClass"), sid + ".png"))
    main = {"train": ["2007_000032", "2008_000002"], "val": ["2007_000033", "2008_000003", "2007_000042"]}
    main["trainval"] = sorted(main["train"] + main["val"])
    segs = {"train": ["2007_000032"], "val": ["2007_000033", "2007_000042"]}
    segs["trainval"] = sorted(segs["train"] + segs["val"])
    for d, sets in (("Main", main), ("Segmentation", segs)):
        for name, ids in sets.items():
            write(os.path.join(root, "ImageSets", d, name + ".txt"), "".join(i + "\n" for i in ids))
    # A per-class list, as the real Main folder holds: "<id> <1|-1|0>".
    write(os.path.join(root, "ImageSets", "Main", "train_train.txt"),
          "".join(f"{i} {'1' if 'train' in [o[0] for o in samples[i][0]] else '-1'}\n" for i in main["train"]))


def mkdir(*p):
    d = os.path.join(*p)
    os.makedirs(d, exist_ok=True)
    return d


COCO_CATS = [{"supercategory": "person", "id": 1, "name": "person"},
             {"supercategory": "vehicle", "id": 2, "name": "bicycle"},
             {"supercategory": "animal", "id": 18, "name": "dog"},
             {"supercategory": "furniture", "id": 62, "name": "chair"}]

COCO_INFO = {"description": "COCO 2017 Dataset", "url": "http://cocodataset.org", "version": "1.0",
             "year": 2017, "contributor": "COCO Consortium", "date_created": "2017/09/01"}
COCO_LICENSES = [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1,
                  "name": "Attribution-NonCommercial-ShareAlike License"}]

CAPTIONS = ["A man riding a bicycle down a street.", "A person on a bike in the city.",
            "Someone cycling past parked cars.", "A cyclist rides along the road.",
            "A man is riding his bike on the street.", "A dog sitting on a wooden chair.",
            "A brown dog rests on a chair.", "A small dog on a kitchen chair.",
            "The puppy is sitting on the chair.", "A dog perched on a chair indoors.",
            "Two people standing next to a dog.", "A couple walks their dog.",
            "People and a dog outside.", "Two persons with a dog on a leash.",
            "A dog with its owners in a park.", "Café scene: naïve art on the wall — 東京."]


def gen_coco():
    shutil.rmtree(os.path.join(HERE, "coco"), ignore_errors=True)
    splits = {"val": [632, 139, 285], "train": [9, 25]}
    ann_id, cap_id = 1000, 5000
    for split, ids in splits.items():
        images, anns, caps = [], [], []
        for k, iid in enumerate(ids):
            fn = f"{iid:012d}.jpg"
            tiny().save(os.path.join(mkdir(HERE, "coco", f"{split}2017"), fn), quality=75)
            images.append({"license": 1, "file_name": fn,
                           "coco_url": f"http://images.cocodataset.org/{split}2017/{fn}",
                           "height": H, "width": W, "date_captured": "2013-11-14 11:18:45",
                           "flickr_url": "http://farm3.staticflickr.com/x.jpg", "id": iid})
            for j in range(k + 1):  # 1, 2, 3 objects
                cat = COCO_CATS[(k + j) % len(COCO_CATS)]["id"]
                x, y, w, h = 1.5 + j, 2.25, 6.0, 5.5
                anns.append({"segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]], "area": w * h,
                             "iscrowd": int(j == 2), "image_id": iid, "bbox": [x, y, w, h],
                             "category_id": cat, "id": ann_id})
                ann_id += 7
            for j in range(5):  # five captions; ids deliberately out of order
                caps.append({"image_id": iid, "id": cap_id + (5 - j) * 3,
                             "caption": CAPTIONS[(5 * k + j) % len(CAPTIONS)]})
            cap_id += 100
        if split == "val":  # a sixth, non-ASCII caption on one image
            caps.append({"image_id": 139, "id": 1, "caption": CAPTIONS[-1]})
        rng.shuffle(anns)  # real files are not sorted by image
        inst = {"info": COCO_INFO, "licenses": COCO_LICENSES, "images": images, "annotations": anns,
                "categories": COCO_CATS}
        capj = {"info": COCO_INFO, "licenses": COCO_LICENSES, "images": images, "annotations": caps}
        write(os.path.join(HERE, "coco", "annotations", f"instances_{split}2017.json"),
              json.dumps(inst, separators=(",", ":"), ensure_ascii=True))
        write(os.path.join(HERE, "coco", "annotations", f"captions_{split}2017.json"),
              json.dumps(capj, separators=(",", ":"), ensure_ascii=True))


def gen_kodak():
    d = os.path.join(HERE, "kodak")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i in range(1, 25):
        tiny(8, 8).save(os.path.join(d, f"kodim{i:02d}.png"))


def gen_folder():
    d = os.path.join(HERE, "folder")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "nested"))
    tiny().save(os.path.join(d, "b.png"))
    tiny().save(os.path.join(d, "A.JPG"), quality=75)
    tiny().save(os.path.join(d, "c.gif"))
    tiny().save(os.path.join(d, "nested", "skipped.png"))
    write(os.path.join(d, "README.txt"), "not an image\n")
    write(os.path.join(d, ".hidden.png"), "hidden files are skipped\n")


gen_voc()
gen_coco()
gen_kodak()
gen_folder()
